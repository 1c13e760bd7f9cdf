// deploy/: every kustomization renders and validates against the Kubernetes schemas
// (scripts/validate-deploy.sh, offline), and the rendered objects keep fluxo's own rules: only the
// proxy reaches the server, every workload has probes, resources and a non-root security context,
// agents get a grace period longer than their stop timeout plus cancel grace, no secret value is
// ever written in a manifest.
import { cp, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const repoRoot = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const script = join(repoRoot, 'scripts', 'validate-deploy.sh');
// The first run installs kubernetes-validate from PyPI (a 22 MB wheel).
const SCRIPT_TIMEOUT_MS = 240_000;

type Labels = Record<string, string>;
interface EnvVar { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string }; configMapKeyRef?: unknown; fieldRef?: unknown } }
interface Probe { httpGet?: { path: string; port: string | number; scheme?: string }; tcpSocket?: unknown; exec?: unknown }
interface Container {
  name: string;
  image: string;
  args?: string[];
  env?: EnvVar[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  resources?: { requests?: { cpu?: string; memory?: string }; limits?: { cpu?: string; memory?: string } };
  securityContext?: { allowPrivilegeEscalation?: boolean; readOnlyRootFilesystem?: boolean; capabilities?: { drop?: string[]; add?: string[] }; runAsUser?: number; runAsNonRoot?: boolean };
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
}
interface PodSpec {
  containers: Container[];
  terminationGracePeriodSeconds?: number;
  securityContext?: { runAsNonRoot?: boolean; runAsUser?: number; fsGroup?: number };
  automountServiceAccountToken?: boolean;
  volumes?: { name: string; secret?: { secretName: string } }[];
}
interface Peer { podSelector?: { matchLabels?: Labels }; namespaceSelector?: unknown; ipBlock?: unknown }
interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Labels };
  data?: Record<string, string>;
  stringData?: Record<string, string>;
  spec?: {
    replicas?: number;
    selector?: { matchLabels?: Labels } | Labels;
    template?: { metadata: { labels: Labels }; spec: PodSpec };
    podSelector?: { matchLabels?: Labels };
    policyTypes?: string[];
    ingress?: { from?: Peer[]; ports?: { port: number | string }[] }[];
    egress?: { to?: Peer[]; ports?: { port: number | string }[] }[];
    ports?: { port: number; targetPort?: number | string }[];
  };
}

let rendered: string;
let run: { exitCode?: number; stdout: string; stderr: string };
const outputs = new Map<string, K8sObject[]>();

beforeAll(async () => {
  rendered = await mkdtemp(join(tmpdir(), 'fluxo-deploy-'));
  run = await execa('bash', [script, '--out', rendered], { cwd: repoRoot, reject: false, timeout: SCRIPT_TIMEOUT_MS });
  for (const file of await readdir(rendered)) {
    if (file.endsWith('.json')) outputs.set(file.slice(0, -'.json'.length).replaceAll('_', '/'), JSON.parse(await readFile(join(rendered, file), 'utf8')) as K8sObject[]);
  }
}, SCRIPT_TIMEOUT_MS + 10_000);

afterAll(async () => {
  await rm(rendered, { recursive: true, force: true });
});

const objects = (kustomization: string): K8sObject[] => {
  const found = outputs.get(kustomization);
  if (!found) throw new Error(`${kustomization} was not rendered; the script said:\n${run.stdout}\n${run.stderr}`);
  return found;
};
const only = (kustomization: string, kind: string, name: string): K8sObject => {
  const found = objects(kustomization).find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) throw new Error(`${kustomization} has no ${kind} ${name}`);
  return found;
};
const matches = (selector: Labels | undefined, labels: Labels): boolean =>
  selector !== undefined && Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels[k] === v);
const podLabels = (workload: K8sObject): Labels => workload.spec!.template!.metadata.labels;
const WORKLOAD_KINDS = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'Job']);
const agentOverlays = (): string[] => [...outputs.keys()].filter((k) => k.startsWith('deploy/agents/') && k !== 'deploy/agents/base');
const workloads = (): [string, K8sObject][] =>
  [...outputs.entries()].flatMap(([k, list]) => list.filter((o) => WORKLOAD_KINDS.has(o.kind)).map((o): [string, K8sObject] => [k, o]));

describe('rendering and schema validation', () => {
  it('renders every kustomization and validates it against the Kubernetes schemas', () => {
    expect(run.stderr.match(/^FAIL .*/gm) ?? []).toEqual([]);
    expect(run.exitCode).toBe(0);
    for (const kustomization of ['deploy/base', 'deploy/base/server', 'deploy/base/proxy', 'deploy/migrate', 'deploy/agents/rj-smtr', 'deploy/agents/rj-escritorio']) {
      expect(run.stdout).toContain(`ok   ${kustomization}: `);
      expect(objects(kustomization).length).toBeGreaterThan(0);
    }
  });

  it.each([
    ['a misspelled field', 'base/server/deployment.yaml', 'periodSeconds: 10', 'periodSecond: 10', /'periodSecond' was unexpected/],
    ['a value of the wrong type', 'base/proxy/deployment.yaml', 'replicas: 2', 'replicas: two', /replicas/],
    ['a kind no schema knows', 'base/server/service.yaml', 'kind: Service', 'kind: Servise', /Servise/],
    ['a broken kustomization', 'agents/rj-smtr/kustomization.yaml', '- ../base', '- ../no-such-base', /kustomize could not render/],
  ])('fails on %s', async (_what, file, from, to, message) => {
    const copy = await mkdtemp(join(tmpdir(), 'fluxo-deploy-broken-'));
    try {
      await cp(join(repoRoot, 'deploy'), join(copy, 'deploy'), { recursive: true });
      const path = join(copy, 'deploy', file);
      const text = await readFile(path, 'utf8');
      expect(text).toContain(from);
      await writeFile(path, text.replace(from, to));
      const broken = await execa('bash', [script], { cwd: repoRoot, reject: false, timeout: SCRIPT_TIMEOUT_MS, env: { FLUXO_DEPLOY_DIR: join(copy, 'deploy') } });
      expect(broken.exitCode).not.toBe(0);
      expect(broken.stderr).toMatch(message);
    } finally {
      await rm(copy, { recursive: true, force: true });
    }
  }, SCRIPT_TIMEOUT_MS);
});

describe('server and proxy', () => {
  it('runs at least two replicas of each, in the fluxo namespace', () => {
    for (const name of ['fluxo-server', 'fluxo-proxy']) {
      const deployment = only('deploy/base', 'Deployment', name);
      expect(deployment.metadata.namespace).toBe('fluxo');
      expect(deployment.spec!.replicas).toBeGreaterThanOrEqual(2);
    }
  });

  it('lets only the proxy reach the server, on its port', () => {
    const base = objects('deploy/base');
    const server = podLabels(only('deploy/base', 'Deployment', 'fluxo-server'));
    const proxy = podLabels(only('deploy/base', 'Deployment', 'fluxo-proxy'));
    const policies = base.filter((o) => o.kind === 'NetworkPolicy' && matches(o.spec!.podSelector?.matchLabels, server));
    expect(policies.map((p) => p.metadata.name)).toEqual(['fluxo-server']);
    const [policy] = policies;
    expect(policy!.spec!.policyTypes).toContain('Ingress');
    expect(policy!.spec!.ingress!.length).toBeGreaterThan(0);
    for (const rule of policy!.spec!.ingress!) {
      // A rule without `from` admits everyone; a namespaceSelector or ipBlock admits more than the proxy.
      expect(rule.from?.length).toBeGreaterThan(0);
      for (const peer of rule.from!) {
        expect(peer.namespaceSelector).toBeUndefined();
        expect(peer.ipBlock).toBeUndefined();
        expect(matches(peer.podSelector?.matchLabels, proxy)).toBe(true);
        expect(matches(peer.podSelector?.matchLabels, server)).toBe(false);
      }
      expect(rule.ports?.map((p) => p.port)).toEqual([4200]);
    }
  });

  it('lets the server reach only PostgreSQL and DNS', () => {
    const policy = only('deploy/base', 'NetworkPolicy', 'fluxo-server');
    expect(policy.spec!.policyTypes).toContain('Egress');
    const ports = policy.spec!.egress!.flatMap((rule) => rule.ports?.map((p) => p.port) ?? ['any']);
    expect([...new Set(ports)].sort()).toEqual([53, 5432]);
  });

  it('sends the proxy to the server Service, which selects the server pods', () => {
    const service = only('deploy/base', 'Service', 'fluxo-server');
    expect(matches(service.spec!.selector as Labels, podLabels(only('deploy/base', 'Deployment', 'fluxo-server')))).toBe(true);
    expect(service.spec!.ports!.map((p) => p.port)).toEqual([4200]);
    const proxy = only('deploy/base', 'Deployment', 'fluxo-proxy').spec!.template!.spec.containers[0]!;
    expect(proxy.args).toContain('--upstream=http://fluxo-server:4200');
  });

  it('terminates TLS in the proxy from a TLS Secret, and probes it over HTTPS', () => {
    const deployment = only('deploy/base', 'Deployment', 'fluxo-proxy');
    const container = deployment.spec!.template!.spec.containers[0]!;
    const mounted = (file: string) => container.volumeMounts!.find((m) => file.startsWith(`${m.mountPath}/`));
    for (const flag of ['--tls-cert=', '--tls-key=']) {
      const file = container.args!.find((a) => a.startsWith(flag))?.slice(flag.length);
      expect(file, flag).toBeDefined();
      const volume = deployment.spec!.template!.spec.volumes!.find((v) => v.name === mounted(file!)?.name);
      expect(volume?.secret?.secretName).toBe('fluxo-proxy-tls');
    }
    expect(container.readinessProbe?.httpGet?.scheme).toBe('HTTPS');
    expect(container.livenessProbe?.httpGet?.scheme).toBe('HTTPS');
  });

  it('runs the server in production mode, with the tenant-secrets keyring from a Secret', () => {
    const deployment = only('deploy/base', 'Deployment', 'fluxo-server');
    const container = deployment.spec!.template!.spec.containers[0]!;
    expect(container.args).toContain('--production');
    const file = container.args!.find((a) => a.startsWith('--secrets-key-file='))!.split('=')[1]!;
    const mount = container.volumeMounts!.find((m) => file.startsWith(`${m.mountPath}/`));
    expect(deployment.spec!.template!.spec.volumes!.find((v) => v.name === mount?.name)?.secret?.secretName).toBe('fluxo-secrets-key');
  });

  it('reads the database URL from a Secret, in the servers and in the migration Job', () => {
    const containers = [only('deploy/base', 'Deployment', 'fluxo-server'), only('deploy/migrate', 'Job', 'fluxo-migrate')].map((o) => o.spec!.template!.spec.containers[0]!);
    for (const container of containers) {
      expect(container.env?.find((e) => e.name === 'FLUXO_DATABASE_URL')?.valueFrom?.secretKeyRef).toEqual({ name: 'fluxo-database', key: 'url' });
    }
  });
});

// Listed, not discovered (it.each runs before the rendering): the first test fails when a workload is missing here.
const WORKLOADS: [string, string, string][] = [
  ['deploy/base', 'Deployment', 'fluxo-server'],
  ['deploy/base', 'Deployment', 'fluxo-proxy'],
  ['deploy/migrate', 'Job', 'fluxo-migrate'],
  ['deploy/agents/rj-smtr', 'StatefulSet', 'fluxo-agent'],
  ['deploy/agents/rj-escritorio', 'StatefulSet', 'fluxo-agent'],
];

describe('every workload', () => {
  it('is one of those checked below', () => {
    const rendered = workloads().filter(([k]) => !/^deploy\/(base\/|agents\/base$)/.test(k)).map(([k, o]) => `${k} ${o.kind} ${o.metadata.name}`);
    expect(rendered.sort()).toEqual(WORKLOADS.map((w) => w.join(' ')).sort());
  });

  it.each(WORKLOADS)('%s %s %s runs as non-root with requests, limits and probes', (kustomization, kind, name) => {
    const workload = only(kustomization, kind, name);
    const pod = workload.spec!.template!.spec;
    expect(pod.securityContext?.runAsNonRoot).toBe(true);
    expect(pod.securityContext?.runAsUser).toBeGreaterThan(0);
    expect(pod.automountServiceAccountToken).toBe(false);
    for (const container of pod.containers) {
      // `fluxo` is the kustomize image placeholder; every kustomization rewrites it.
      expect(container.image).toMatch(/^registry\.example\.gov\.br\/fluxo:/);
      expect(container.resources?.requests?.cpu).toBeDefined();
      expect(container.resources?.requests?.memory).toBeDefined();
      expect(container.resources?.limits?.memory).toBeDefined();
      expect(container.securityContext).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
      // A Job runs to completion; everything else is a daemon the kubelet must be able to check.
      if (kind !== 'Job') {
        expect(container.livenessProbe?.httpGet).toBeDefined();
        expect(container.readinessProbe?.httpGet).toBeDefined();
      }
    }
  });
});

describe('agents', () => {
  it('has an overlay per agency, each in its own namespace', () => {
    expect(agentOverlays().sort()).toEqual(['deploy/agents/rj-escritorio', 'deploy/agents/rj-smtr']);
    for (const overlay of agentOverlays()) {
      const agency = overlay.split('/').at(-1)!;
      for (const object of objects(overlay)) expect(object.kind === 'Namespace' ? object.metadata.name : object.metadata.namespace).toBe(agency);
    }
  });

  /** The agent container's environment: envFrom ConfigMaps first, `env` over them (as the kubelet does). */
  const agentEnv = (overlay: string): { env: Map<string, EnvVar>; pod: PodSpec } => {
    const pod = only(overlay, 'StatefulSet', 'fluxo-agent').spec!.template!.spec;
    const container = pod.containers[0]!;
    const env = new Map<string, EnvVar>();
    for (const source of container.envFrom ?? []) {
      expect(source.secretRef).toBeUndefined();
      const configMap = only(overlay, 'ConfigMap', source.configMapRef!.name);
      for (const [name, value] of Object.entries(configMap.data ?? {})) env.set(name, { name, value });
    }
    for (const variable of container.env ?? []) env.set(variable.name, variable);
    return { env, pod };
  };

  it.each(['deploy/agents/rj-smtr', 'deploy/agents/rj-escritorio'])('%s: configures labels and the API, and takes the token from a Secret', (overlay) => {
    const { env } = agentEnv(overlay);
    // The proxy terminates TLS: agents poll over HTTPS, never in clear text.
    expect(env.get('FLUXO_API')?.value).toMatch(/^https:\/\/.+\/graphql$/);
    expect(env.get('FLUXO_AGENT_LABELS')?.value).toMatch(/^[a-z0-9,-]+$/);
    expect(env.get('FLUXO_TOKEN')?.valueFrom?.secretKeyRef).toEqual({ name: 'fluxo-agent-token', key: 'token' });
    expect(env.get('FLUXO_AGENT_NAME')?.valueFrom?.fieldRef).toEqual({ fieldPath: 'metadata.name' });
  });

  it.each(['deploy/agents/rj-smtr', 'deploy/agents/rj-escritorio'])('%s: gives the pod longer to stop than stop timeout + cancel grace', (overlay) => {
    const { env, pod } = agentEnv(overlay);
    // The agent's defaults (agent/config.ts) when the overlay does not set them.
    const stop = Number(env.get('FLUXO_AGENT_STOP_TIMEOUT_SECONDS')?.value ?? 15);
    const grace = Number(env.get('FLUXO_AGENT_CANCEL_GRACE_SECONDS')?.value ?? 10);
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(stop + grace);
  });

  it.each(['deploy/agents/rj-smtr', 'deploy/agents/rj-escritorio'])('%s: runs the agent as root with only the capabilities to run flows as a non-root FLUXO_RUN_AS', (overlay) => {
    const { env, pod } = agentEnv(overlay);
    // Flows must not read the agent's token (issue 9): they run as another, unprivileged uid.
    // FIRST-LAST:GID: each run its own uid, at least one per concurrent run.
    const [, first, last, gid] = (/^(\d+)-(\d+):(\d+)$/.exec(env.get('FLUXO_RUN_AS')?.value ?? '') ?? []).map(Number);
    expect(first).toBeGreaterThan(0);
    expect(gid).toBeGreaterThan(0);
    expect(last! - first! + 1).toBeGreaterThanOrEqual(Number(env.get('FLUXO_AGENT_CONCURRENCY')?.value ?? 1));
    expect(pod.containers[0]!.securityContext).toMatchObject({ runAsUser: 0, runAsNonRoot: false, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'], add: ['CHOWN', 'DAC_OVERRIDE', 'KILL', 'SETGID', 'SETUID'] } });
    // An fsGroup would hand the flows' group the work volume (spool, bundle cache).
    expect(pod.securityContext?.fsGroup).toBeUndefined();
  });

  it('accepts no inbound connections', () => {
    const policy = only('deploy/agents/rj-smtr', 'NetworkPolicy', 'fluxo-agent');
    expect(matches(policy.spec!.podSelector?.matchLabels, podLabels(only('deploy/agents/rj-smtr', 'StatefulSet', 'fluxo-agent')))).toBe(true);
    expect(policy.spec!.policyTypes).toEqual(['Ingress']);
    expect(policy.spec!.ingress).toEqual([]);
  });
});

describe('secrets', () => {
  const SECRET_LOOKING = [/eyJ[\w-]{8,}\.[\w-]{8,}\./, /-----BEGIN [A-Z ]*PRIVATE KEY-----/, /postgres(ql)?:\/\/[^:/@\s]+:[^@\s]+@/i, /"kty"\s*:/];

  it('never writes a Secret object: Secrets are created out of band', () => {
    for (const list of outputs.values()) expect(list.filter((o) => o.kind === 'Secret').map((o) => o.metadata.name)).toEqual([]);
  });

  it('keeps tokens, passwords and keys out of ConfigMaps', () => {
    const configMaps = [...outputs.values()].flat().filter((o) => o.kind === 'ConfigMap');
    expect(configMaps.length).toBeGreaterThan(0);
    for (const configMap of configMaps) {
      for (const [key, value] of Object.entries(configMap.data ?? {})) {
        expect(key).not.toMatch(/token|password|secret|private/i);
        for (const pattern of SECRET_LOOKING) expect(value).not.toMatch(pattern);
      }
    }
  });

  it('passes credentials to containers only through secretKeyRef, never as values', () => {
    for (const [, workload] of workloads()) {
      for (const container of workload.spec!.template!.spec.containers) {
        for (const variable of container.env ?? []) {
          if (/TOKEN|PASSWORD|SECRET|DATABASE_URL/.test(variable.name)) expect(variable.valueFrom?.secretKeyRef, variable.name).toBeDefined();
          if (variable.value !== undefined) for (const pattern of SECRET_LOOKING) expect(variable.value).not.toMatch(pattern);
        }
      }
    }
  });
});
