/**
 * The cells of each built-in kind's Table row, computed as kube-apiserver v1.23's printers do
 * (k8s.io/kubernetes pkg/printers/internalversion): a pod's STATUS from its phase, init and
 * container states and deletion, RESTARTS with the time of the last restart, a service's
 * external IP by type, a node's status from its Ready condition, and so on. The column
 * definitions they go with are data, in `table-columns.ts`; the Table around them is `table.ts`.
 *
 * The real printers run on the internal types, after the v1 object was decoded and defaulted.
 * The embedded server stores objects as sent, so a printer reads a missing field as the value the
 * real server would have stored: the v1 default where there is one (a Deployment's `replicas` 1,
 * a Service's `type` ClusterIP and ports' `protocol` TCP, a Secret's `type` Opaque, a pod's
 * `phase` Pending, set by its create strategy), and Go's zero value otherwise (`0`, `""`). Watch
 * bookmarks are printed too (the real server turns them into one-row Tables of an empty object),
 * with no defaults, as their object is empty on the real server as well.
 *
 * Times are printed as the real server's `HumanDuration` (`45s`, `3m20s`, `5h`, `2d3h`), from now.
 */

/** A cell of a Table row, as JSON. */
export type Cell = string | number | boolean | null;

/** A row's `conditions` (pods that completed carry one). */
export interface RowCondition {
  readonly type: string;
  readonly status: string;
  readonly reason: string;
  readonly message: string;
}

/** What a printer makes of one object. */
export interface PrintedRow {
  readonly cells: readonly Cell[];
  readonly conditions?: readonly RowCondition[];
}

/** How a printer prints: the current time, and whether missing fields read as v1 defaults. */
export interface PrintContext {
  readonly now: number;
  /** False for watch bookmarks, whose empty objects the real server prints without defaults. */
  readonly defaults: boolean;
}

type Printer = (obj: Obj, ctx: PrintContext) => PrintedRow;
type Obj = Readonly<Record<string, unknown>>;

// --- Reading untyped objects ------------------------------------------------------------------

function rec(v: unknown): Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : {};
}
function arr(v: unknown): readonly unknown[] {
  return Array.isArray(v) ? v : [];
}
function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}
function int(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) ? Math.trunc(v) : 0;
}
/** The value at a path of object keys, or undefined. */
function at(obj: unknown, ...path: string[]): unknown {
  let cur: unknown = obj;
  for (const key of path) {
    if (typeof cur !== 'object' || cur === null || Array.isArray(cur)) return undefined;
    cur = (cur as Obj)[key];
  }
  return cur;
}
/** Set, as Go sees a pointer or struct: neither missing nor JSON null. */
function present(v: unknown): boolean {
  return v !== undefined && v !== null;
}
function keyCount(v: unknown): number {
  return Object.keys(rec(v)).length;
}
function name(obj: Obj): string {
  return str(at(obj, 'metadata', 'name'));
}

// --- Formatting ---------------------------------------------------------------------------------

/**
 * apimachinery's `duration.HumanDuration`: two significant units while they matter (`3m20s`
 * under 10 minutes, `5h30m` under 8 hours, `2d3h` under 8 days, `2y30d` under 8 years).
 */
export function humanDuration(ms: number): string {
  const seconds = Math.trunc(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) {
    const s = seconds % 60;
    return s === 0 ? `${minutes}m` : `${minutes}m${s}s`;
  }
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(seconds / 3600);
  if (hours < 8) {
    const m = minutes % 60;
    return m === 0 ? `${hours}h` : `${hours}h${m}m`;
  }
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8) {
    const h = hours % 24;
    return h === 0 ? `${hours / 24}d` : `${Math.floor(hours / 24)}d${h}h`;
  }
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24)}d`;
  if (hours < 24 * 365 * 8) {
    const days = Math.floor(hours / 24) % 365;
    const years = Math.floor(hours / 24 / 365);
    return days === 0 ? `${years}y` : `${years}y${days}d`;
  }
  return `${Math.floor(hours / 24 / 365)}y`;
}

/** The time since an RFC 3339 timestamp, `<unknown>` when there is none. */
export function since(timestamp: unknown, ctx: PrintContext): string {
  const t = typeof timestamp === 'string' && timestamp !== '' ? Date.parse(timestamp) : NaN;
  if (Number.isNaN(t)) return '<unknown>';
  return humanDuration(ctx.now - t);
}

function age(obj: Obj, ctx: PrintContext): string {
  return since(at(obj, 'metadata', 'creationTimestamp'), ctx);
}

/** `labels.FormatLabels`: sorted `k=v` pairs, `<none>` when empty. */
function formatLabels(labels: unknown): string {
  const pairs = Object.entries(rec(labels)).map(([k, v]) => `${k}=${str(v)}`);
  return pairs.length === 0 ? '<none>' : pairs.sort().join(',');
}

/**
 * A LabelSelector as `LabelSelectorAsSelector(...).String()`: requirements sorted by key, `k=v`,
 * `k in (a,b)`, `k notin (a,b)`, `k`, `!k`. Undefined for a missing selector (which selects
 * nothing) — printed as `<none>` or `""` depending on the printer, as on the real server.
 */
function selectorString(selector: unknown): string | undefined {
  if (typeof selector !== 'object' || selector === null) return undefined;
  const reqs: [string, string][] = [];
  for (const [k, v] of Object.entries(rec(at(selector, 'matchLabels')))) {
    reqs.push([k, `${k}=${str(v)}`]);
  }
  for (const e of arr(at(selector, 'matchExpressions'))) {
    const key = str(at(e, 'key'));
    const values = arr(at(e, 'values')).map(str).sort().join(',');
    switch (str(at(e, 'operator'))) {
      case 'In':
        reqs.push([key, `${key} in (${values})`]);
        break;
      case 'NotIn':
        reqs.push([key, `${key} notin (${values})`]);
        break;
      case 'Exists':
        reqs.push([key, key]);
        break;
      case 'DoesNotExist':
        reqs.push([key, `!${key}`]);
        break;
      default:
        return '<error>';
    }
  }
  return reqs
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .map((r) => r[1])
    .join(',');
}

/** `metav1.FormatLabelSelector`: the selector, `<none>` when it is missing or empty. */
function formatLabelSelector(selector: unknown): string {
  const s = selectorString(selector);
  return s === undefined || s === '' ? '<none>' : s;
}

/** The containers' names and images, each comma-joined. */
function containerCells(podSpec: unknown): [string, string] {
  const containers = arr(at(podSpec, 'containers'));
  return [
    containers.map((c) => str(at(c, 'name'))).join(','),
    containers.map((c) => str(at(c, 'image'))).join(','),
  ];
}

function templateSpec(obj: Obj): unknown {
  return at(obj, 'spec', 'template', 'spec');
}

/** `spec.replicas`, or its v1 default 1. */
function replicas(obj: Obj, ctx: PrintContext): number {
  const v = at(obj, 'spec', 'replicas');
  return v === undefined && ctx.defaults ? 1 : int(v);
}

// --- Pods ---------------------------------------------------------------------------------------

const POD_SUCCEEDED: RowCondition = {
  type: 'Completed',
  status: 'True',
  reason: 'Succeeded',
  message: 'The pod has completed successfully.',
};
const POD_FAILED: RowCondition = {
  type: 'Completed',
  status: 'True',
  reason: 'Failed',
  message: 'The pod failed.',
};

/** The latest `lastState.terminated.finishedAt` seen so far (ms), for RESTARTS' "(5m ago)". */
function laterRestart(latest: number, status: unknown): number {
  const finished = at(status, 'lastState', 'terminated', 'finishedAt');
  const t = typeof finished === 'string' ? Date.parse(finished) : NaN;
  return !Number.isNaN(t) && t > latest ? t : latest;
}

/**
 * A pod's READY, STATUS and RESTARTS: the phase (or `status.reason`), overridden by the first
 * init container that has not succeeded (`Init:1/2`, `Init:CrashLoopBackOff`,
 * `Init:ExitCode:1`), else by the containers' waiting or terminated reasons (the first
 * container's wins), `Terminating` once deleted (`Unknown` for a NodeLost pod).
 */
function printPod(obj: Obj, ctx: PrintContext): PrintedRow {
  const spec = rec(obj['spec']);
  const status = rec(obj['status']);
  const phase = str(status['phase']) || (ctx.defaults ? 'Pending' : '');
  let reason = str(status['reason']) || phase;
  let restarts = 0;
  let ready = 0;
  let lastRestart = 0;

  let initializing = false;
  const initStatuses = arr(status['initContainerStatuses']);
  const initCount = arr(spec['initContainers']).length;
  for (let i = 0; i < initStatuses.length; i++) {
    const c = initStatuses[i];
    restarts += int(at(c, 'restartCount'));
    lastRestart = laterRestart(lastRestart, c);
    const terminated = at(c, 'state', 'terminated');
    const waitingReason = str(at(c, 'state', 'waiting', 'reason'));
    if (present(terminated) && int(at(terminated, 'exitCode')) === 0) continue;
    initializing = true;
    if (present(terminated)) {
      const r = str(at(terminated, 'reason'));
      const signal = int(at(terminated, 'signal'));
      if (r !== '') reason = `Init:${r}`;
      else if (signal !== 0) reason = `Init:Signal:${signal}`;
      else reason = `Init:ExitCode:${int(at(terminated, 'exitCode'))}`;
    } else if (waitingReason !== '' && waitingReason !== 'PodInitializing') {
      reason = `Init:${waitingReason}`;
    } else {
      reason = `Init:${i}/${initCount}`;
    }
    break;
  }

  if (!initializing) {
    restarts = 0;
    let hasRunning = false;
    const statuses = arr(status['containerStatuses']);
    for (let i = statuses.length - 1; i >= 0; i--) {
      const c = statuses[i];
      restarts += int(at(c, 'restartCount'));
      lastRestart = laterRestart(lastRestart, c);
      const waitingReason = str(at(c, 'state', 'waiting', 'reason'));
      const terminated = at(c, 'state', 'terminated');
      if (waitingReason !== '') {
        reason = waitingReason;
      } else if (present(terminated)) {
        const r = str(at(terminated, 'reason'));
        const signal = int(at(terminated, 'signal'));
        if (r !== '') reason = r;
        else if (signal !== 0) reason = `Signal:${signal}`;
        else reason = `ExitCode:${int(at(terminated, 'exitCode'))}`;
      } else if (at(c, 'ready') === true && present(at(c, 'state', 'running'))) {
        hasRunning = true;
        ready++;
      }
    }
    // A completed container next to a running one: the pod is still Running (or NotReady).
    if (reason === 'Completed' && hasRunning) {
      const podReady = arr(status['conditions']).some(
        (c) => at(c, 'type') === 'Ready' && at(c, 'status') === 'True',
      );
      reason = podReady ? 'Running' : 'NotReady';
    }
  }

  if (present(at(obj, 'metadata', 'deletionTimestamp'))) {
    reason = str(status['reason']) === 'NodeLost' ? 'Unknown' : 'Terminating';
  }

  const restartsCell =
    lastRestart !== 0
      ? `${restarts} (${humanDuration(ctx.now - lastRestart)} ago)`
      : String(restarts);

  const podIP = str(at(arr(status['podIPs'])[0], 'ip')) || '<none>';
  const gates = arr(spec['readinessGates']);
  let readinessGates = '<none>';
  if (gates.length > 0) {
    const conditions = arr(status['conditions']);
    let trueCount = 0;
    for (const gate of gates) {
      const found = conditions.find((c) => at(c, 'type') === at(gate, 'conditionType'));
      if (found !== undefined && at(found, 'status') === 'True') trueCount++;
    }
    readinessGates = `${trueCount}/${gates.length}`;
  }

  return {
    cells: [
      name(obj),
      `${ready}/${arr(spec['containers']).length}`,
      reason,
      restartsCell,
      age(obj, ctx),
      podIP,
      str(spec['nodeName']) || '<none>',
      str(status['nominatedNodeName']) || '<none>',
      readinessGates,
    ],
    ...(phase === 'Succeeded'
      ? { conditions: [POD_SUCCEEDED] }
      : phase === 'Failed'
        ? { conditions: [POD_FAILED] }
        : {}),
  };
}

// --- Services -----------------------------------------------------------------------------------

/** Load-balancer ingress IPs (or hostnames), sorted and unique; cut to 16 characters unless wide. */
function loadBalancerIngress(svc: Obj): string {
  const found = new Set<string>();
  for (const ing of arr(at(svc, 'status', 'loadBalancer', 'ingress'))) {
    const value = str(at(ing, 'ip')) || str(at(ing, 'hostname'));
    if (value !== '') found.add(value);
  }
  // The server always prints wide: nothing is cut.
  return [...found].sort().join(',');
}

function serviceExternalIP(svc: Obj, type: string): string {
  const externalIPs = arr(at(svc, 'spec', 'externalIPs')).map(str);
  switch (type) {
    case 'ClusterIP':
    case 'NodePort':
      return externalIPs.length > 0 ? externalIPs.join(',') : '<none>';
    case 'LoadBalancer': {
      const lb = loadBalancerIngress(svc);
      if (externalIPs.length > 0)
        return [...(lb === '' ? [] : lb.split(',')), ...externalIPs].join(',');
      return lb !== '' ? lb : '<pending>';
    }
    case 'ExternalName':
      return str(at(svc, 'spec', 'externalName'));
    default:
      return '<unknown>';
  }
}

function printService(obj: Obj, ctx: PrintContext): PrintedRow {
  const spec = rec(obj['spec']);
  const type = str(spec['type']) || (ctx.defaults ? 'ClusterIP' : '');
  const clusterIPs = arr(spec['clusterIPs']).map(str);
  const clusterIP = clusterIPs[0] ?? (str(spec['clusterIP']) || undefined);
  const ports = arr(spec['ports'])
    .map((p) => {
      const protocol = str(at(p, 'protocol')) || (ctx.defaults ? 'TCP' : '');
      const nodePort = int(at(p, 'nodePort'));
      const port = int(at(p, 'port'));
      return nodePort > 0 ? `${port}:${nodePort}/${protocol}` : `${port}/${protocol}`;
    })
    .join(',');
  return {
    cells: [
      name(obj),
      type,
      clusterIP ?? '<none>',
      serviceExternalIP(obj, type),
      ports === '' ? '<none>' : ports,
      age(obj, ctx),
      formatLabels(spec['selector']),
    ],
  };
}

// --- Events ---------------------------------------------------------------------------------------

/**
 * core/v1 and events.k8s.io/v1 Events share one printer (the real server converts both to the
 * internal Event): the new API's `note`, `regarding`, `deprecatedSource`, `deprecated*Timestamp`
 * and `deprecatedCount` are the old `message`, `involvedObject`, `source`, `*Timestamp`, `count`.
 */
function printEvent(obj: Obj, ctx: PrintContext): PrintedRow {
  const newApi = str(obj['apiVersion']).startsWith('events.k8s.io/');
  const field = (core: string, events: string): unknown => obj[newApi ? events : core];
  const involved = rec(field('involvedObject', 'regarding'));
  const source = rec(field('source', 'deprecatedSource'));
  const firstTimestamp = field('firstTimestamp', 'deprecatedFirstTimestamp');
  const lastTimestampField = field('lastTimestamp', 'deprecatedLastTimestamp');
  const series = obj['series'];

  const first =
    typeof firstTimestamp === 'string' && firstTimestamp !== ''
      ? since(firstTimestamp, ctx)
      : since(obj['eventTime'], ctx);
  let last =
    typeof lastTimestampField === 'string' && lastTimestampField !== ''
      ? since(lastTimestampField, ctx)
      : first;
  let count = int(field('count', 'deprecatedCount'));
  if (present(series)) {
    last = since(at(series, 'lastObservedTime'), ctx);
    count = int(at(series, 'count'));
  } else if (count === 0) {
    count = 1;
  }
  const kind = str(involved['kind']).toLowerCase();
  const involvedName = str(involved['name']);
  const component =
    str(source['component']) || str(field('reportingComponent', 'reportingController'));
  const instance = str(source['host']) || str(obj['reportingInstance']);
  return {
    cells: [
      last,
      str(obj['type']),
      str(obj['reason']),
      involvedName !== '' ? `${kind}/${involvedName}` : kind,
      str(involved['fieldPath']),
      instance === '' ? component : `${component}, ${instance}`,
      str(field('message', 'note')).trim(),
      first,
      count,
      name(obj),
    ],
  };
}

// --- Nodes ----------------------------------------------------------------------------------------

function nodeAddress(obj: Obj, type: string): string {
  const found = arr(at(obj, 'status', 'addresses')).find((a) => at(a, 'type') === type);
  return found === undefined ? '<none>' : str(at(found, 'address'));
}

function printNode(obj: Obj, ctx: PrintContext): PrintedRow {
  const conditions = arr(at(obj, 'status', 'conditions'));
  // The last Ready condition wins, as the real printer's map of conditions by type.
  const readyCondition = conditions.filter((c) => at(c, 'type') === 'Ready').at(-1);
  const status: string[] = [];
  if (readyCondition !== undefined) {
    status.push(at(readyCondition, 'status') === 'True' ? 'Ready' : 'NotReady');
  } else {
    status.push('Unknown');
  }
  if (at(obj, 'spec', 'unschedulable') === true) status.push('SchedulingDisabled');

  const roles = new Set<string>();
  for (const [k, v] of Object.entries(rec(at(obj, 'metadata', 'labels')))) {
    if (k.startsWith('node-role.kubernetes.io/')) {
      const role = k.slice('node-role.kubernetes.io/'.length);
      if (role !== '') roles.add(role);
    } else if (k === 'kubernetes.io/role' && str(v) !== '') {
      roles.add(str(v));
    }
  }
  const info = rec(at(obj, 'status', 'nodeInfo'));
  return {
    cells: [
      name(obj),
      status.join(','),
      roles.size === 0 ? '<none>' : [...roles].sort().join(','),
      age(obj, ctx),
      str(info['kubeletVersion']),
      nodeAddress(obj, 'InternalIP'),
      nodeAddress(obj, 'ExternalIP'),
      str(info['osImage']) || '<unknown>',
      str(info['kernelVersion']) || '<unknown>',
      str(info['containerRuntimeVersion']) || '<unknown>',
    ],
  };
}

// --- Endpoints ------------------------------------------------------------------------------------

/** `ip:port` of every address and port (bare IPs for a subset without ports); 3 then "+ N more...". */
function formatEndpoints(obj: Obj): string {
  const subsets = arr(obj['subsets']);
  if (subsets.length === 0) return '<none>';
  const MAX = 3;
  const list: string[] = [];
  let count = 0;
  const add = (entry: string): void => {
    if (list.length < MAX) list.push(entry);
    count++;
  };
  for (const subset of subsets) {
    const addresses = arr(at(subset, 'addresses'));
    const ports = arr(at(subset, 'ports'));
    if (ports.length === 0) {
      for (const a of addresses) add(str(at(a, 'ip')));
      continue;
    }
    for (const p of ports) {
      for (const a of addresses) {
        const ip = str(at(a, 'ip'));
        add(`${ip.includes(':') ? `[${ip}]` : ip}:${int(at(p, 'port'))}`);
      }
    }
  }
  const joined = list.join(',');
  return count > MAX ? `${joined} + ${count - MAX} more...` : joined;
}

// --- Jobs -----------------------------------------------------------------------------------------

function printJob(obj: Obj, ctx: PrintContext): PrintedRow {
  const spec = rec(obj['spec']);
  const status = rec(obj['status']);
  const succeeded = int(status['succeeded']);
  let completions: string;
  if (present(spec['completions'])) {
    completions = `${succeeded}/${int(spec['completions'])}`;
  } else {
    const parallelism = int(spec['parallelism']);
    completions = parallelism > 1 ? `${succeeded}/1 of ${parallelism}` : `${succeeded}/1`;
  }
  const start = typeof status['startTime'] === 'string' ? Date.parse(status['startTime']) : NaN;
  const end =
    typeof status['completionTime'] === 'string' ? Date.parse(status['completionTime']) : NaN;
  const duration = Number.isNaN(start)
    ? ''
    : humanDuration((Number.isNaN(end) ? ctx.now : end) - start);
  const [names, images] = containerCells(templateSpec(obj));
  return {
    cells: [
      name(obj),
      completions,
      duration,
      age(obj, ctx),
      names,
      images,
      formatLabelSelector(spec['selector']),
    ],
  };
}

function printCronJob(obj: Obj, ctx: PrintContext): PrintedRow {
  const spec = rec(obj['spec']);
  const suspend = spec['suspend'];
  const last = at(obj, 'status', 'lastScheduleTime');
  const jobSpec = at(spec, 'jobTemplate', 'spec');
  const [names, images] = containerCells(at(jobSpec, 'template', 'spec'));
  return {
    cells: [
      name(obj),
      str(spec['schedule']),
      typeof suspend === 'boolean'
        ? suspend
          ? 'True'
          : 'False'
        : ctx.defaults
          ? 'False'
          : '<unset>',
      arr(at(obj, 'status', 'active')).length,
      present(last) ? since(last, ctx) : '<none>',
      age(obj, ctx),
      names,
      images,
      formatLabelSelector(at(jobSpec, 'selector')),
    ],
  };
}

// --- The table of printers -----------------------------------------------------------------------

const PRINTERS: Readonly<Record<string, Printer>> = {
  namespaces: (o, ctx) => ({
    cells: [name(o), str(at(o, 'status', 'phase')), age(o, ctx)],
  }),
  configmaps: (o, ctx) => ({
    cells: [name(o), keyCount(o['data']) + keyCount(o['binaryData']), age(o, ctx)],
  }),
  secrets: (o, ctx) => ({
    cells: [
      name(o),
      str(o['type']) || (ctx.defaults ? 'Opaque' : ''),
      keyCount(o['data']),
      age(o, ctx),
    ],
  }),
  serviceaccounts: (o, ctx) => ({
    cells: [name(o), arr(o['secrets']).length, age(o, ctx)],
  }),
  pods: printPod,
  services: printService,
  events: printEvent,
  'events.events.k8s.io': printEvent,
  nodes: printNode,
  endpoints: (o, ctx) => ({ cells: [name(o), formatEndpoints(o), age(o, ctx)] }),
  'deployments.apps': (o, ctx) => {
    const [names, images] = containerCells(templateSpec(o));
    const status = rec(o['status']);
    return {
      cells: [
        name(o),
        `${int(status['readyReplicas'])}/${replicas(o, ctx)}`,
        int(status['updatedReplicas']),
        int(status['availableReplicas']),
        age(o, ctx),
        names,
        images,
        selectorString(at(o, 'spec', 'selector')) ?? '',
      ],
    };
  },
  'replicasets.apps': (o, ctx) => {
    const [names, images] = containerCells(templateSpec(o));
    const status = rec(o['status']);
    return {
      cells: [
        name(o),
        replicas(o, ctx),
        int(status['replicas']),
        int(status['readyReplicas']),
        age(o, ctx),
        names,
        images,
        formatLabelSelector(at(o, 'spec', 'selector')),
      ],
    };
  },
  'statefulsets.apps': (o, ctx) => {
    const [names, images] = containerCells(templateSpec(o));
    return {
      cells: [
        name(o),
        `${int(at(o, 'status', 'readyReplicas'))}/${replicas(o, ctx)}`,
        age(o, ctx),
        names,
        images,
      ],
    };
  },
  'daemonsets.apps': (o, ctx) => {
    const [names, images] = containerCells(templateSpec(o));
    const status = rec(o['status']);
    return {
      cells: [
        name(o),
        int(status['desiredNumberScheduled']),
        int(status['currentNumberScheduled']),
        int(status['numberReady']),
        int(status['updatedNumberScheduled']),
        int(status['numberAvailable']),
        formatLabels(at(templateSpec(o), 'nodeSelector')),
        age(o, ctx),
        names,
        images,
        formatLabelSelector(at(o, 'spec', 'selector')),
      ],
    };
  },
  'jobs.batch': printJob,
  'cronjobs.batch': printCronJob,
  'leases.coordination.k8s.io': (o, ctx) => ({
    cells: [name(o), str(at(o, 'spec', 'holderIdentity')), age(o, ctx)],
  }),
  // No printer of its own: the default Table convertor's name and RFC 3339 creation time.
  'customresourcedefinitions.apiextensions.k8s.io': (o) => ({
    cells: [name(o), createdAt(at(o, 'metadata', 'creationTimestamp'))],
  }),
};

/** The default convertor's "Created At": the creation time in RFC 3339 (UTC, seconds). */
function createdAt(timestamp: unknown): string {
  const t = typeof timestamp === 'string' ? Date.parse(timestamp) : NaN;
  // Go's zero time, which an object without a creation time prints.
  if (Number.isNaN(t)) return '0001-01-01T00:00:00Z';
  return new Date(Math.floor(t / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

/** The printer of a built-in resource (by storage key, `configmaps`, `deployments.apps`), if any. */
export function printerFor(resourceKey: string): Printer | undefined {
  return PRINTERS[resourceKey];
}
