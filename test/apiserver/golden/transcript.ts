/**
 * The schema of a golden transcript (`test/apiserver/golden/<behaviour>.json`), written by
 * `record.ts` from a real kube-apiserver and replayed against the embedded one by
 * `test/apiserver/golden.test.ts`.
 *
 * Steps run in order. A request step is one HTTP exchange; a request with `watch` opens a stream
 * whose events are recorded by later `collect` steps (so writes can happen in between); a
 * `compact` step is where the recorder waited for etcd to compact (the replay calls
 * `server.faults.compactHistory()` instead).
 */
export interface Transcript {
  /** e.g. `kube-apiserver v1.23.16`. */
  recordedFrom: string;
  /** false when written by hand from the server's source rather than recorded. */
  recorded: boolean;
  /** Non-default kube-up.sh settings the recording needs (e.g. `KUBE_WATCH_CACHE: "false"`). */
  server?: Record<string, string>;
  /**
   * `startApiServer` options for the replay: the embedded counterpart of the real server's setup
   * (e.g. `token` plus `auth.rules` for its RBAC; the replay then authenticates with that token, a
   * `system:masters` admin like the recorder's) or timing that changes no answer (e.g. a shorter
   * wait before a too-new resourceVersion's 504, which the real server makes 3 s).
   */
  embeddedOptions?: Record<string, unknown>;
  /**
   * Compare `metadata.managedFields` too (their `time`s normalised like other timestamps); older
   * transcripts, recorded before the embedded server kept managed fields, leave them out.
   */
  compareManagedFields?: boolean;
  description: string;
  /**
   * `asserted`: the embedded server matches and the replay fails on any difference.
   * `pending`: it is known to differ; the replay only reports the differences.
   */
  status: 'asserted' | 'pending';
  /** The differences the replay found against the embedded server (pending transcripts). */
  differences?: string[];
  /** Differences that are intended (e.g. newer behaviour modelled on purpose), with the reason. */
  knownDifferences?: string[];
  steps: Step[];
}

export interface Step {
  note?: string;
  request?: RecordedRequest;
  response?: RecordedResponse;
  collect?: { watch: string; events: WatchEventJson[]; ended: boolean };
  compact?: true;
  /**
   * Why the embedded server answers this step differently: its differences are reported but never
   * fail the replay, even in an asserted transcript.
   */
  embeddedDiffers?: string;
}

export interface RecordedRequest {
  method: string;
  /** Path and query, raw (real resourceVersions and continue tokens). */
  path: string;
  /** Request headers that matter (Content-Type, Impersonate-User); auth is not recorded. */
  headers?: Record<string, string>;
  body?: unknown;
  /** A body sent as raw bytes (protobuf), base64-encoded; with its `Content-Type` in `headers`. */
  bodyBase64?: string;
  /** A body sent as raw text (YAML, text/plain), as it was sent. */
  bodyText?: string;
  /**
   * The body is the response body of step N (a client writing back what it read): the replay sends
   * the embedded server's own answer to step N; `body` keeps what was sent to the real server.
   */
  bodyFrom?: number;
  /** Set on a watch request: the stream's id, referenced by `collect` steps. */
  watch?: string;
}

export interface RecordedResponse {
  status: number;
  /** Only {@link RECORDED_HEADERS}. */
  headers: Record<string, string>;
  /** The parsed JSON body (absent on a watch that opened with 200). */
  body?: unknown;
  /** The body when it is not JSON. */
  bodyText?: string;
}

export interface WatchEventJson {
  type: string;
  object: unknown;
}

/** Response headers recorded and compared (lower case). */
export const RECORDED_HEADERS = ['content-type', 'retry-after'] as const;
