import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { MetricsSink } from '../ports.js';

/** The MetricsSink port over Powertools Metrics (EMF); a metric with dimensions goes out as its own record. */
export function powertoolsMetrics(metrics: Metrics): MetricsSink {
  return {
    count(name, value, dimensions) {
      if (!dimensions) {
        metrics.addMetric(name, MetricUnit.Count, value);
        return;
      }
      const single = metrics.singleMetric();
      for (const [key, dimension] of Object.entries(dimensions)) single.addDimension(key, dimension);
      single.addMetric(name, MetricUnit.Count, value);
    },
    milliseconds(name, value) {
      metrics.addMetric(name, MetricUnit.Milliseconds, value);
    },
    flush() {
      metrics.publishStoredMetrics();
    },
  };
}
