// The variables TSDoc examples may use without declaring them, with the types they stand for.
// (Prepended to every generated example file by scripts/doc-examples.ts, below generated imports
// of every kubecache package's public API.) Anything else an example uses, it declares itself.
import * as http from 'node:http';
import { writeFileSync } from 'node:fs';
import assert from 'node:assert/strict';
import { AppsV1Api, CoreV1Api, KubeConfig } from '@kubernetes/client-node';

declare const kc: KubeConfig;
declare const signal: AbortSignal;
declare const ac: AbortController;
declare const factory: SharedInformerFactory;
declare const informer: SharedIndexInformer<Pod>;
declare const lister: Lister<Pod>;
declare const indexer: Indexer<Pod>;
declare const handler: ResourceEventHandler<Pod>;
declare const pod: Pod;
declare const obj: KubeObject;
declare const server: ApiServer;
declare const queue: RateLimitingQueue<string>;
declare const clock: FakeClock;
declare const listerWatcher: ListerWatcher<Pod>;
declare const lw: ListerWatcher<Pod>;
declare const reflector: Reflector<Pod>;
declare const controller: Controller;
declare const coreApi: CoreV1Api;
declare const appsApi: AppsV1Api;
declare const log: Logger;
declare const err: unknown;
declare const error: unknown;
void [http, writeFileSync, assert];
