import * as $protobuf from "protobufjs";
import Long = require("long");

/** Namespace edgemeter. */
export namespace edgemeter {

    /** Namespace v1. */
    namespace v1 {

        /**
         * Properties of a DeviceReport.
         * @deprecated Use edgemeter.v1.DeviceReport.$Properties instead.
         */
        interface IDeviceReport extends edgemeter.v1.DeviceReport.$Properties {
        }

        /** Represents a DeviceReport. */
        class DeviceReport {

            /**
             * Constructs a new DeviceReport.
             * @param [p] Properties to set
             */
            constructor(p?: edgemeter.v1.DeviceReport.$Properties);

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];

            /** DeviceReport seq. */
            seq?: (number|null);

            /** DeviceReport id. */
            id?: (string|null);

            /** DeviceReport boot. */
            boot?: (string|null);

            /** DeviceReport tsMs. */
            tsMs: number;

            /** DeviceReport startMs. */
            startMs?: (number|null);

            /** DeviceReport up. */
            up: number;

            /** DeviceReport down. */
            down: number;

            /** DeviceReport meters. */
            meters: { [k: string]: number };

            /** DeviceReport dims. */
            dims: { [k: string]: string };

            /**
             * Creates a new DeviceReport instance using the specified properties.
             * @param [properties] Properties to set
             * @returns DeviceReport instance
             */
            static create(properties: edgemeter.v1.DeviceReport.$Shape): edgemeter.v1.DeviceReport & edgemeter.v1.DeviceReport.$Shape;
            static create(properties?: edgemeter.v1.DeviceReport.$Properties): edgemeter.v1.DeviceReport;

            /**
             * Encodes the specified DeviceReport message. Does not implicitly {@link edgemeter.v1.DeviceReport.verify|verify} messages.
             * @param m DeviceReport message or plain object to encode
             * @param [w] Writer to encode to
             * @returns Writer
             */
            static encode(m: edgemeter.v1.DeviceReport.$Properties, w?: $protobuf.Writer): $protobuf.Writer;

            /**
             * Decodes a DeviceReport message from the specified reader or buffer.
             * @param r Reader or buffer to decode from
             * @param [l] Message length if known beforehand
             * @returns {edgemeter.v1.DeviceReport & edgemeter.v1.DeviceReport.$Shape} DeviceReport
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            static decode(r: ($protobuf.Reader|Uint8Array), l?: number): edgemeter.v1.DeviceReport & edgemeter.v1.DeviceReport.$Shape;

            /**
             * Gets the type url for DeviceReport
             * @param [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
             * @returns The type url
             */
            static getTypeUrl(prefix?: string): string;
        }

        namespace DeviceReport {

            /** Properties of a DeviceReport. */
            interface $Properties {

                /** DeviceReport seq */
                seq?: (number|null);

                /** DeviceReport id */
                id?: (string|null);

                /** DeviceReport boot */
                boot?: (string|null);

                /** DeviceReport tsMs */
                tsMs?: (number|null);

                /** DeviceReport startMs */
                startMs?: (number|null);

                /** DeviceReport up */
                up?: (number|null);

                /** DeviceReport down */
                down?: (number|null);

                /** DeviceReport meters */
                meters?: ({ [k: string]: number }|null);

                /** DeviceReport dims */
                dims?: ({ [k: string]: string }|null);

                /** Unknown fields preserved while decoding when enabled */
                $unknowns?: Uint8Array[];
            }

            /** Shape of a DeviceReport. */
            type $Shape = edgemeter.v1.DeviceReport.$Properties;
        }

        /**
         * Properties of a UsageRecord.
         * @deprecated Use edgemeter.v1.UsageRecord.$Properties instead.
         */
        interface IUsageRecord extends edgemeter.v1.UsageRecord.$Properties {
        }

        /** Represents a UsageRecord. */
        class UsageRecord {

            /**
             * Constructs a new UsageRecord.
             * @param [p] Properties to set
             */
            constructor(p?: edgemeter.v1.UsageRecord.$Properties);

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];

            /** UsageRecord deviceId. */
            deviceId: string;

            /** UsageRecord seq. */
            seq?: (number|null);

            /** UsageRecord id. */
            id?: (string|null);

            /** UsageRecord boot. */
            boot?: (string|null);

            /** UsageRecord startMs. */
            startMs?: (number|null);

            /** UsageRecord endMs. */
            endMs: number;

            /** UsageRecord up. */
            up: number;

            /** UsageRecord down. */
            down: number;

            /** UsageRecord meters. */
            meters: { [k: string]: number };

            /** UsageRecord dims. */
            dims: { [k: string]: string };

            /** UsageRecord receivedMs. */
            receivedMs: number;

            /**
             * Creates a new UsageRecord instance using the specified properties.
             * @param [properties] Properties to set
             * @returns UsageRecord instance
             */
            static create(properties: edgemeter.v1.UsageRecord.$Shape): edgemeter.v1.UsageRecord & edgemeter.v1.UsageRecord.$Shape;
            static create(properties?: edgemeter.v1.UsageRecord.$Properties): edgemeter.v1.UsageRecord;

            /**
             * Encodes the specified UsageRecord message. Does not implicitly {@link edgemeter.v1.UsageRecord.verify|verify} messages.
             * @param m UsageRecord message or plain object to encode
             * @param [w] Writer to encode to
             * @returns Writer
             */
            static encode(m: edgemeter.v1.UsageRecord.$Properties, w?: $protobuf.Writer): $protobuf.Writer;

            /**
             * Decodes a UsageRecord message from the specified reader or buffer.
             * @param r Reader or buffer to decode from
             * @param [l] Message length if known beforehand
             * @returns {edgemeter.v1.UsageRecord & edgemeter.v1.UsageRecord.$Shape} UsageRecord
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            static decode(r: ($protobuf.Reader|Uint8Array), l?: number): edgemeter.v1.UsageRecord & edgemeter.v1.UsageRecord.$Shape;

            /**
             * Gets the type url for UsageRecord
             * @param [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
             * @returns The type url
             */
            static getTypeUrl(prefix?: string): string;
        }

        namespace UsageRecord {

            /** Properties of a UsageRecord. */
            interface $Properties {

                /** UsageRecord deviceId */
                deviceId?: (string|null);

                /** UsageRecord seq */
                seq?: (number|null);

                /** UsageRecord id */
                id?: (string|null);

                /** UsageRecord boot */
                boot?: (string|null);

                /** UsageRecord startMs */
                startMs?: (number|null);

                /** UsageRecord endMs */
                endMs?: (number|null);

                /** UsageRecord up */
                up?: (number|null);

                /** UsageRecord down */
                down?: (number|null);

                /** UsageRecord meters */
                meters?: ({ [k: string]: number }|null);

                /** UsageRecord dims */
                dims?: ({ [k: string]: string }|null);

                /** UsageRecord receivedMs */
                receivedMs?: (number|null);

                /** Unknown fields preserved while decoding when enabled */
                $unknowns?: Uint8Array[];
            }

            /** Shape of a UsageRecord. */
            type $Shape = edgemeter.v1.UsageRecord.$Properties;
        }

        /**
         * Properties of an IngestBatchRequest.
         * @deprecated Use edgemeter.v1.IngestBatchRequest.$Properties instead.
         */
        interface IIngestBatchRequest extends edgemeter.v1.IngestBatchRequest.$Properties {
        }

        /** Represents an IngestBatchRequest. */
        class IngestBatchRequest {

            /**
             * Constructs a new IngestBatchRequest.
             * @param [p] Properties to set
             */
            constructor(p?: edgemeter.v1.IngestBatchRequest.$Properties);

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];

            /** IngestBatchRequest collectorId. */
            collectorId: string;

            /** IngestBatchRequest batchId. */
            batchId: string;

            /** IngestBatchRequest records. */
            records: edgemeter.v1.UsageRecord.$Properties[];

            /**
             * Creates a new IngestBatchRequest instance using the specified properties.
             * @param [properties] Properties to set
             * @returns IngestBatchRequest instance
             */
            static create(properties: edgemeter.v1.IngestBatchRequest.$Shape): edgemeter.v1.IngestBatchRequest & edgemeter.v1.IngestBatchRequest.$Shape;
            static create(properties?: edgemeter.v1.IngestBatchRequest.$Properties): edgemeter.v1.IngestBatchRequest;

            /**
             * Encodes the specified IngestBatchRequest message. Does not implicitly {@link edgemeter.v1.IngestBatchRequest.verify|verify} messages.
             * @param m IngestBatchRequest message or plain object to encode
             * @param [w] Writer to encode to
             * @returns Writer
             */
            static encode(m: edgemeter.v1.IngestBatchRequest.$Properties, w?: $protobuf.Writer): $protobuf.Writer;

            /**
             * Decodes an IngestBatchRequest message from the specified reader or buffer.
             * @param r Reader or buffer to decode from
             * @param [l] Message length if known beforehand
             * @returns {edgemeter.v1.IngestBatchRequest & edgemeter.v1.IngestBatchRequest.$Shape} IngestBatchRequest
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            static decode(r: ($protobuf.Reader|Uint8Array), l?: number): edgemeter.v1.IngestBatchRequest & edgemeter.v1.IngestBatchRequest.$Shape;

            /**
             * Gets the type url for IngestBatchRequest
             * @param [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
             * @returns The type url
             */
            static getTypeUrl(prefix?: string): string;
        }

        namespace IngestBatchRequest {

            /** Properties of an IngestBatchRequest. */
            interface $Properties {

                /** IngestBatchRequest collectorId */
                collectorId?: (string|null);

                /** IngestBatchRequest batchId */
                batchId?: (string|null);

                /** IngestBatchRequest records */
                records?: (edgemeter.v1.UsageRecord.$Properties[]|null);

                /** Unknown fields preserved while decoding when enabled */
                $unknowns?: Uint8Array[];
            }

            /** Shape of an IngestBatchRequest. */
            type $Shape = edgemeter.v1.IngestBatchRequest.$Properties;
        }

        /**
         * Properties of a Rejection.
         * @deprecated Use edgemeter.v1.Rejection.$Properties instead.
         */
        interface IRejection extends edgemeter.v1.Rejection.$Properties {
        }

        /** Represents a Rejection. */
        class Rejection {

            /**
             * Constructs a new Rejection.
             * @param [p] Properties to set
             */
            constructor(p?: edgemeter.v1.Rejection.$Properties);

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];

            /** Rejection index. */
            index: number;

            /** Rejection code. */
            code: string;

            /** Rejection reason. */
            reason: string;

            /**
             * Creates a new Rejection instance using the specified properties.
             * @param [properties] Properties to set
             * @returns Rejection instance
             */
            static create(properties: edgemeter.v1.Rejection.$Shape): edgemeter.v1.Rejection & edgemeter.v1.Rejection.$Shape;
            static create(properties?: edgemeter.v1.Rejection.$Properties): edgemeter.v1.Rejection;

            /**
             * Encodes the specified Rejection message. Does not implicitly {@link edgemeter.v1.Rejection.verify|verify} messages.
             * @param m Rejection message or plain object to encode
             * @param [w] Writer to encode to
             * @returns Writer
             */
            static encode(m: edgemeter.v1.Rejection.$Properties, w?: $protobuf.Writer): $protobuf.Writer;

            /**
             * Decodes a Rejection message from the specified reader or buffer.
             * @param r Reader or buffer to decode from
             * @param [l] Message length if known beforehand
             * @returns {edgemeter.v1.Rejection & edgemeter.v1.Rejection.$Shape} Rejection
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            static decode(r: ($protobuf.Reader|Uint8Array), l?: number): edgemeter.v1.Rejection & edgemeter.v1.Rejection.$Shape;

            /**
             * Gets the type url for Rejection
             * @param [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
             * @returns The type url
             */
            static getTypeUrl(prefix?: string): string;
        }

        namespace Rejection {

            /** Properties of a Rejection. */
            interface $Properties {

                /** Rejection index */
                index?: (number|null);

                /** Rejection code */
                code?: (string|null);

                /** Rejection reason */
                reason?: (string|null);

                /** Unknown fields preserved while decoding when enabled */
                $unknowns?: Uint8Array[];
            }

            /** Shape of a Rejection. */
            type $Shape = edgemeter.v1.Rejection.$Properties;
        }

        /**
         * Properties of an IngestBatchResponse.
         * @deprecated Use edgemeter.v1.IngestBatchResponse.$Properties instead.
         */
        interface IIngestBatchResponse extends edgemeter.v1.IngestBatchResponse.$Properties {
        }

        /** Represents an IngestBatchResponse. */
        class IngestBatchResponse {

            /**
             * Constructs a new IngestBatchResponse.
             * @param [p] Properties to set
             */
            constructor(p?: edgemeter.v1.IngestBatchResponse.$Properties);

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];

            /** IngestBatchResponse accepted. */
            accepted: number;

            /** IngestBatchResponse duplicates. */
            duplicates: number;

            /** IngestBatchResponse conflicts. */
            conflicts: number;

            /** IngestBatchResponse rejected. */
            rejected: edgemeter.v1.Rejection.$Properties[];

            /**
             * Creates a new IngestBatchResponse instance using the specified properties.
             * @param [properties] Properties to set
             * @returns IngestBatchResponse instance
             */
            static create(properties: edgemeter.v1.IngestBatchResponse.$Shape): edgemeter.v1.IngestBatchResponse & edgemeter.v1.IngestBatchResponse.$Shape;
            static create(properties?: edgemeter.v1.IngestBatchResponse.$Properties): edgemeter.v1.IngestBatchResponse;

            /**
             * Encodes the specified IngestBatchResponse message. Does not implicitly {@link edgemeter.v1.IngestBatchResponse.verify|verify} messages.
             * @param m IngestBatchResponse message or plain object to encode
             * @param [w] Writer to encode to
             * @returns Writer
             */
            static encode(m: edgemeter.v1.IngestBatchResponse.$Properties, w?: $protobuf.Writer): $protobuf.Writer;

            /**
             * Decodes an IngestBatchResponse message from the specified reader or buffer.
             * @param r Reader or buffer to decode from
             * @param [l] Message length if known beforehand
             * @returns {edgemeter.v1.IngestBatchResponse & edgemeter.v1.IngestBatchResponse.$Shape} IngestBatchResponse
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            static decode(r: ($protobuf.Reader|Uint8Array), l?: number): edgemeter.v1.IngestBatchResponse & edgemeter.v1.IngestBatchResponse.$Shape;

            /**
             * Gets the type url for IngestBatchResponse
             * @param [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
             * @returns The type url
             */
            static getTypeUrl(prefix?: string): string;
        }

        namespace IngestBatchResponse {

            /** Properties of an IngestBatchResponse. */
            interface $Properties {

                /** IngestBatchResponse accepted */
                accepted?: (number|null);

                /** IngestBatchResponse duplicates */
                duplicates?: (number|null);

                /** IngestBatchResponse conflicts */
                conflicts?: (number|null);

                /** IngestBatchResponse rejected */
                rejected?: (edgemeter.v1.Rejection.$Properties[]|null);

                /** Unknown fields preserved while decoding when enabled */
                $unknowns?: Uint8Array[];
            }

            /** Shape of an IngestBatchResponse. */
            type $Shape = edgemeter.v1.IngestBatchResponse.$Properties;
        }

        /** Represents an IngestService */
        class IngestService extends $protobuf.rpc.Service {

            /**
             * Constructs a new IngestService service.
             * @param rpcImpl RPC implementation
             * @param [requestDelimited=false] Whether requests are length-delimited
             * @param [responseDelimited=false] Whether responses are length-delimited
             */
            constructor(rpcImpl: $protobuf.RPCImpl, requestDelimited?: boolean, responseDelimited?: boolean);

            /**
             * Creates new IngestService service using the specified rpc implementation.
             * @param rpcImpl RPC implementation
             * @param [requestDelimited=false] Whether requests are length-delimited
             * @param [responseDelimited=false] Whether responses are length-delimited
             * @returns RPC service. Useful where requests and/or responses are streamed.
             */
            static create(rpcImpl: $protobuf.RPCImpl, requestDelimited?: boolean, responseDelimited?: boolean): IngestService;

            /** Calls IngestBatch. */
            ingestBatch: edgemeter.v1.IngestService.IngestBatch;
        }

        namespace IngestService {

            /**
             * Callback as used by {@link edgemeter.v1.IngestService#ingestBatch}.
             * @param error Error, if any
             * @param [response] IngestBatchResponse
             */
            type IngestBatchCallback = (error: (Error|null), response?: edgemeter.v1.IngestBatchResponse) => void;

            /** Calls IngestBatch. */
            type IngestBatch = {
              (request: edgemeter.v1.IIngestBatchRequest, callback: edgemeter.v1.IngestService.IngestBatchCallback): void;
              (request: edgemeter.v1.IIngestBatchRequest): Promise<edgemeter.v1.IngestBatchResponse>;
              readonly name: "IngestBatch";
              readonly path: "/edgemeter.v1.IngestService/IngestBatch";
              readonly requestType: "IngestBatchRequest";
              readonly responseType: "IngestBatchResponse";
              readonly requestStream: undefined;
              readonly responseStream: undefined;
            };
        }

        /** Represents a QuotaService */
        class QuotaService extends $protobuf.rpc.Service {

            /**
             * Constructs a new QuotaService service.
             * @param rpcImpl RPC implementation
             * @param [requestDelimited=false] Whether requests are length-delimited
             * @param [responseDelimited=false] Whether responses are length-delimited
             */
            constructor(rpcImpl: $protobuf.RPCImpl, requestDelimited?: boolean, responseDelimited?: boolean);

            /**
             * Creates new QuotaService service using the specified rpc implementation.
             * @param rpcImpl RPC implementation
             * @param [requestDelimited=false] Whether requests are length-delimited
             * @param [responseDelimited=false] Whether responses are length-delimited
             * @returns RPC service. Useful where requests and/or responses are streamed.
             */
            static create(rpcImpl: $protobuf.RPCImpl, requestDelimited?: boolean, responseDelimited?: boolean): QuotaService;

            /** Calls Watch. */
            watch: edgemeter.v1.QuotaService.Watch;
        }

        namespace QuotaService {

            /**
             * Callback as used by {@link edgemeter.v1.QuotaService#watch}.
             * @param error Error, if any
             * @param [response] QuotaUpdate
             */
            type WatchCallback = (error: (Error|null), response?: edgemeter.v1.QuotaUpdate) => void;

            /** Calls Watch. */
            type Watch = {
              (request: edgemeter.v1.IWatchQuotaRequest, callback: edgemeter.v1.QuotaService.WatchCallback): void;
              (request: edgemeter.v1.IWatchQuotaRequest): Promise<edgemeter.v1.QuotaUpdate>;
              readonly name: "Watch";
              readonly path: "/edgemeter.v1.QuotaService/Watch";
              readonly requestType: "WatchQuotaRequest";
              readonly responseType: "QuotaUpdate";
              readonly requestStream: undefined;
              readonly responseStream: true;
            };
        }

        /**
         * Properties of a WatchQuotaRequest.
         * @deprecated Use edgemeter.v1.WatchQuotaRequest.$Properties instead.
         */
        interface IWatchQuotaRequest extends edgemeter.v1.WatchQuotaRequest.$Properties {
        }

        /** Represents a WatchQuotaRequest. */
        class WatchQuotaRequest {

            /**
             * Constructs a new WatchQuotaRequest.
             * @param [p] Properties to set
             */
            constructor(p?: edgemeter.v1.WatchQuotaRequest.$Properties);

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];

            /** WatchQuotaRequest collectorId. */
            collectorId: string;

            /** WatchQuotaRequest afterSeq. */
            afterSeq: string;

            /**
             * Creates a new WatchQuotaRequest instance using the specified properties.
             * @param [properties] Properties to set
             * @returns WatchQuotaRequest instance
             */
            static create(properties: edgemeter.v1.WatchQuotaRequest.$Shape): edgemeter.v1.WatchQuotaRequest & edgemeter.v1.WatchQuotaRequest.$Shape;
            static create(properties?: edgemeter.v1.WatchQuotaRequest.$Properties): edgemeter.v1.WatchQuotaRequest;

            /**
             * Encodes the specified WatchQuotaRequest message. Does not implicitly {@link edgemeter.v1.WatchQuotaRequest.verify|verify} messages.
             * @param m WatchQuotaRequest message or plain object to encode
             * @param [w] Writer to encode to
             * @returns Writer
             */
            static encode(m: edgemeter.v1.WatchQuotaRequest.$Properties, w?: $protobuf.Writer): $protobuf.Writer;

            /**
             * Decodes a WatchQuotaRequest message from the specified reader or buffer.
             * @param r Reader or buffer to decode from
             * @param [l] Message length if known beforehand
             * @returns {edgemeter.v1.WatchQuotaRequest & edgemeter.v1.WatchQuotaRequest.$Shape} WatchQuotaRequest
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            static decode(r: ($protobuf.Reader|Uint8Array), l?: number): edgemeter.v1.WatchQuotaRequest & edgemeter.v1.WatchQuotaRequest.$Shape;

            /**
             * Gets the type url for WatchQuotaRequest
             * @param [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
             * @returns The type url
             */
            static getTypeUrl(prefix?: string): string;
        }

        namespace WatchQuotaRequest {

            /** Properties of a WatchQuotaRequest. */
            interface $Properties {

                /** WatchQuotaRequest collectorId */
                collectorId?: (string|null);

                /** WatchQuotaRequest afterSeq */
                afterSeq?: (string|null);

                /** Unknown fields preserved while decoding when enabled */
                $unknowns?: Uint8Array[];
            }

            /** Shape of a WatchQuotaRequest. */
            type $Shape = edgemeter.v1.WatchQuotaRequest.$Properties;
        }

        /**
         * Properties of a QuotaUpdate.
         * @deprecated Use edgemeter.v1.QuotaUpdate.$Properties instead.
         */
        interface IQuotaUpdate extends edgemeter.v1.QuotaUpdate.$Properties {
        }

        /** Represents a QuotaUpdate. */
        class QuotaUpdate {

            /**
             * Constructs a new QuotaUpdate.
             * @param [p] Properties to set
             */
            constructor(p?: edgemeter.v1.QuotaUpdate.$Properties);

            /** Unknown fields preserved while decoding when enabled */
            $unknowns?: Uint8Array[];

            /** QuotaUpdate seq. */
            seq: string;

            /** QuotaUpdate deviceId. */
            deviceId: string;

            /** QuotaUpdate statusJson. */
            statusJson: string;

            /**
             * Creates a new QuotaUpdate instance using the specified properties.
             * @param [properties] Properties to set
             * @returns QuotaUpdate instance
             */
            static create(properties: edgemeter.v1.QuotaUpdate.$Shape): edgemeter.v1.QuotaUpdate & edgemeter.v1.QuotaUpdate.$Shape;
            static create(properties?: edgemeter.v1.QuotaUpdate.$Properties): edgemeter.v1.QuotaUpdate;

            /**
             * Encodes the specified QuotaUpdate message. Does not implicitly {@link edgemeter.v1.QuotaUpdate.verify|verify} messages.
             * @param m QuotaUpdate message or plain object to encode
             * @param [w] Writer to encode to
             * @returns Writer
             */
            static encode(m: edgemeter.v1.QuotaUpdate.$Properties, w?: $protobuf.Writer): $protobuf.Writer;

            /**
             * Decodes a QuotaUpdate message from the specified reader or buffer.
             * @param r Reader or buffer to decode from
             * @param [l] Message length if known beforehand
             * @returns {edgemeter.v1.QuotaUpdate & edgemeter.v1.QuotaUpdate.$Shape} QuotaUpdate
             * @throws {Error} If the payload is not a reader or valid buffer
             * @throws {$protobuf.util.ProtocolError} If required fields are missing
             */
            static decode(r: ($protobuf.Reader|Uint8Array), l?: number): edgemeter.v1.QuotaUpdate & edgemeter.v1.QuotaUpdate.$Shape;

            /**
             * Gets the type url for QuotaUpdate
             * @param [prefix] Custom type url prefix, defaults to `"type.googleapis.com"`
             * @returns The type url
             */
            static getTypeUrl(prefix?: string): string;
        }

        namespace QuotaUpdate {

            /** Properties of a QuotaUpdate. */
            interface $Properties {

                /** QuotaUpdate seq */
                seq?: (string|null);

                /** QuotaUpdate deviceId */
                deviceId?: (string|null);

                /** QuotaUpdate statusJson */
                statusJson?: (string|null);

                /** Unknown fields preserved while decoding when enabled */
                $unknowns?: Uint8Array[];
            }

            /** Shape of a QuotaUpdate. */
            type $Shape = edgemeter.v1.QuotaUpdate.$Properties;
        }
    }
}
