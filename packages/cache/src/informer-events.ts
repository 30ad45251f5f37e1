/**
 * The async-iterator face of an informer: a registration whose handlers hand each event to the
 * consumer of a `for await` loop. The handler's promise settles only when the consumer has taken
 * the event, so the registration's buffer (bounded, coalescing per key) absorbs bursts while the
 * loop body runs, and the loop never races ahead of or behind the cache.
 */
import type { DeletedFinalStateUnknown } from './keys.js';
import type { HandlerOptions, HandlerRegistration, ResourceEventHandler } from './processor.js';
import type { DeepReadonly } from './types.js';

/**
 * One informer event, as yielded by `informer.events()`.
 *
 * @example
 * ```ts
 * for await (const ev of informer.events({ signal })) {
 *   if (ev.type === 'updated') console.log(ev.oldObject.metadata?.resourceVersion, '->', ev.object.metadata?.resourceVersion);
 * }
 * ```
 */
export type InformerEvent<T> =
  | { readonly type: 'added'; readonly object: DeepReadonly<T>; readonly isInInitialList: boolean }
  | {
      readonly type: 'updated';
      readonly oldObject: DeepReadonly<T>;
      readonly object: DeepReadonly<T>;
    }
  | {
      readonly type: 'deleted';
      readonly object: DeepReadonly<T> | DeletedFinalStateUnknown<DeepReadonly<T>>;
    };

/**
 * Options of `informer.events()`.
 *
 * @example
 * ```ts
 * informer.events({ signal: ac.signal, resyncPeriodMs: 60_000 });
 * ```
 */
export interface InformerEventsOptions extends HandlerOptions {
  /** Ends the iteration (the loop exits normally). */
  readonly signal?: AbortSignal;
}

/**
 * Builds an async iterable over a fresh registration made with `register`. Used by
 * `SharedIndexInformer.events`.
 *
 * @example
 * ```ts
 * const events = eventIterable((h, o) => informer.addEventHandler(h, o), { signal });
 * ```
 */
export function eventIterable<T>(
  register: (handler: ResourceEventHandler<T>, options: HandlerOptions) => HandlerRegistration,
  options: InformerEventsOptions = {},
): AsyncIterable<InformerEvent<T>> {
  return {
    [Symbol.asyncIterator](): AsyncIterator<InformerEvent<T>> {
      const signal = options.signal;
      // A single-slot rendezvous: the handler parks its event here and waits for the consumer.
      let offered: { event: InformerEvent<T>; taken: () => void } | undefined;
      let waitingConsumer: ((r: IteratorResult<InformerEvent<T>>) => void) | undefined;
      let done = false;
      let registration: HandlerRegistration | undefined;

      const finish = (): void => {
        if (done) return;
        done = true;
        registration?.remove();
        if (offered !== undefined) {
          offered.taken();
          offered = undefined;
        }
        const c = waitingConsumer;
        waitingConsumer = undefined;
        c?.({ done: true, value: undefined });
      };

      const offer = (event: InformerEvent<T>): Promise<void> | void => {
        if (done) return;
        const c = waitingConsumer;
        if (c !== undefined) {
          waitingConsumer = undefined;
          c({ done: false, value: event });
          return;
        }
        return new Promise<void>((resolve) => {
          offered = { event, taken: resolve };
        });
      };

      if (signal?.aborted) done = true;
      else {
        signal?.addEventListener('abort', finish, { once: true });
        registration = register(
          {
            onAdd: (object, isInInitialList) => offer({ type: 'added', object, isInInitialList }),
            onUpdate: (oldObject, object) => offer({ type: 'updated', oldObject, object }),
            onDelete: (object) => offer({ type: 'deleted', object }),
          },
          options,
        );
      }

      return {
        next(): Promise<IteratorResult<InformerEvent<T>>> {
          if (done) return Promise.resolve({ done: true, value: undefined });
          if (offered !== undefined) {
            const o = offered;
            offered = undefined;
            o.taken();
            return Promise.resolve({ done: false, value: o.event });
          }
          return new Promise((resolve) => {
            waitingConsumer = resolve;
          });
        },
        return(): Promise<IteratorResult<InformerEvent<T>>> {
          signal?.removeEventListener('abort', finish);
          finish();
          return Promise.resolve({ done: true, value: undefined });
        },
      };
    },
  };
}
