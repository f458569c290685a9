// The reference of the MQTT ingest benchmark: a bare aedes broker in its own process that does
// nothing with the messages (no subscriber, no persistence beyond aedes's in-memory default).
// Forked by bench/mqtt-ingest.ts with the port as its argument; says {ready: true} when listening.
import net from 'node:net';
import { Aedes } from 'aedes';

const port = Number(process.argv[2]);
const broker = await Aedes.createBroker();
broker.on('clientError', () => {});
const server = net.createServer(broker.handle);
server.listen(port, '127.0.0.1', () => process.send?.({ ready: true }));
process.on('disconnect', () => process.exit(0));
