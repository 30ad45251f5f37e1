import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FakeClock } from '@kubecache/cache';
import { PrometheusQueueMetrics } from '@kubecache/metrics';
import {
  ItemExponentialFailureRateLimiter,
  RateLimitingQueue,
  WorkQueue,
} from '@kubecache/workqueue';
import { Registry } from 'prom-client';
import { samples, value } from './scrape.ts';

async function take<T>(queue: WorkQueue<T>): Promise<T> {
  const r = await queue.get();
  assert.equal(r.shutdown, false);
  return r.item as T;
}

describe('PrometheusQueueMetrics (a workqueue MetricsProvider on prom-client)', () => {
  it('exports depth, adds, latency, work duration, unfinished work, longest running and retries per queue', async () => {
    const registry = new Registry();
    const clock = new FakeClock();
    const provider = new PrometheusQueueMetrics({ registry });
    const queue = new RateLimitingQueue<string>({
      name: 'pods',
      clock,
      metricsProvider: provider,
      rateLimiter: new ItemExponentialFailureRateLimiter({ baseDelayMs: 100, maxDelayMs: 1000 }),
    });
    const q = { queue: 'pods' };
    const scrape = () => registry.metrics();

    // Every series exists at 0 before the first add, so rate() sees the first one.
    let text = await scrape();
    assert.equal(value(text, 'kubecache_workqueue_depth', q), 0);
    assert.equal(value(text, 'kubecache_workqueue_adds_total', q), 0);
    assert.equal(value(text, 'kubecache_workqueue_retries_total', q), 0);
    assert.equal(value(text, 'kubecache_workqueue_queue_duration_seconds_count', q), 0);
    assert.equal(value(text, 'kubecache_workqueue_work_duration_seconds_count', q), 0);
    assert.equal(value(text, 'kubecache_workqueue_unfinished_work_seconds', q), 0);
    assert.equal(value(text, 'kubecache_workqueue_longest_running_processor_seconds', q), 0);

    for (const key of ['a', 'b', 'a']) queue.add(key);
    text = await scrape();
    assert.equal(value(text, 'kubecache_workqueue_depth', q), 2);
    assert.equal(value(text, 'kubecache_workqueue_adds_total', q), 2, 'a waiting a counts once');

    await clock.advance(250);
    const a = await take(queue);
    text = await scrape();
    assert.equal(value(text, 'kubecache_workqueue_depth', q), 1);
    assert.equal(value(text, 'kubecache_workqueue_queue_duration_seconds_count', q), 1);
    assert.equal(value(text, 'kubecache_workqueue_queue_duration_seconds_sum', q), 0.25);
    assert.equal(
      value(text, 'kubecache_workqueue_queue_duration_seconds_bucket', { ...q, le: '0.1' }),
      0,
    );
    assert.equal(
      value(text, 'kubecache_workqueue_queue_duration_seconds_bucket', { ...q, le: '0.5' }),
      1,
    );

    // `a` has been processed for 1 s: unfinished work and the longest running item say so.
    await clock.advance(1000);
    queue.updateUnfinishedWork();
    text = await scrape();
    assert.equal(value(text, 'kubecache_workqueue_unfinished_work_seconds', q), 1);
    assert.equal(value(text, 'kubecache_workqueue_longest_running_processor_seconds', q), 1);

    // It fails: a rate-limited retry, back in the queue after the limiter's 100 ms.
    queue.addRateLimited(a);
    queue.done(a);
    text = await scrape();
    assert.equal(value(text, 'kubecache_workqueue_retries_total', q), 1);
    assert.equal(value(text, 'kubecache_workqueue_work_duration_seconds_count', q), 1);
    assert.equal(value(text, 'kubecache_workqueue_work_duration_seconds_sum', q), 1);
    assert.equal(value(text, 'kubecache_workqueue_depth', q), 1, 'a is still delayed');
    await clock.advance(100);
    text = await scrape();
    assert.equal(value(text, 'kubecache_workqueue_depth', q), 2);
    assert.equal(value(text, 'kubecache_workqueue_adds_total', q), 3);

    queue.updateUnfinishedWork();
    text = await scrape();
    assert.equal(value(text, 'kubecache_workqueue_unfinished_work_seconds', q), 0);

    queue.shutDown();
  });

  it('keeps one series per queue name, and several queues share one provider', async () => {
    const registry = new Registry();
    const provider = new PrometheusQueueMetrics({ registry });
    const a = new WorkQueue<string>({ name: 'a', metricsProvider: provider });
    const b = new WorkQueue<string>({ name: 'b', metricsProvider: provider });
    a.add('x');
    b.add('x');
    b.add('y');
    const text = await registry.metrics();
    assert.deepEqual(
      samples(text, 'kubecache_workqueue_depth').map((s) => [s.labels['queue'], s.value]),
      [
        ['a', 1],
        ['b', 2],
      ],
    );
    a.shutDown();
    b.shutDown();
  });

  it('registers all seven metrics or none, and unregister() takes them out', async () => {
    const registry = new Registry();
    const provider = new PrometheusQueueMetrics({ registry });
    assert.equal(registry.getMetricsAsArray().length, 7);
    assert.throws(
      () => new PrometheusQueueMetrics({ registry }),
      /kubecache_workqueue_depth, .* already registered/,
    );
    assert.equal(registry.getMetricsAsArray().length, 7, 'the failed call registered nothing');
    provider.unregister();
    assert.equal(registry.getMetricsAsArray().length, 0);
    provider.unregister(); // idempotent
    const again = new PrometheusQueueMetrics({ registry });
    assert.equal(registry.getMetricsAsArray().length, 7);
    again.unregister();
  });

  it('takes custom buckets', async () => {
    const registry = new Registry();
    const provider = new PrometheusQueueMetrics({ registry, latencyBuckets: [1, 2] });
    const q = new WorkQueue<string>({ name: 'q', metricsProvider: provider });
    const text = await registry.metrics();
    assert.deepEqual(
      samples(text, 'kubecache_workqueue_queue_duration_seconds_bucket').map((s) => s.labels['le']),
      ['1', '2', '+Inf'],
    );
    q.shutDown();
    provider.unregister();
  });
});
