// `npm run local`: the main job on this machine — a testbed control plane, then (with the rotation
// use-case) a seeded k0rdent setup, a rotation and what changed per cluster. `--keep` leaves it running.
import { startTestbed } from '../testbed/testbed.js';

const keep = process.argv.includes('--keep');
const testbed = await startTestbed();
const { info } = testbed;
console.log(`testbed up in ${info.startupSeconds.total?.toFixed(1)}s`);
for (const cluster of Object.values(info.clusters))
  console.log(`  ${cluster.name.padEnd(9)} ${cluster.url}  KUBECONFIG=${cluster.kubeconfig}`);
console.log(`  aws       AWS_ENDPOINT_URL=${info.aws.endpoint}`);

if (keep) {
  console.log('--keep: running until Ctrl-C');
  await new Promise(() => {});
} else {
  await testbed.stop();
}
