import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defaultAgentArgv, dockerDirPattern, planHost, planHostDockerd, resolveConfig } from './config.js';
import { dockerdArgv, isDockerd, planDockerd, startScript } from './dockerd.js';
import { dockerArgv } from './docker-cli.js';

const c = resolveConfig({ prefix: 'tt12ab', runDir: '/run/x', controllerSocket: '/run/x/tenet.sock' });

test("a lab host's dockerd keeps everything under <prefix>-hN-docker, in its own containerd namespace", () => {
  const d = planHostDockerd(c, planHost(c, 2));
  assert.deepEqual(d, {
    dir: '/run/x/lab/tt12ab-h2-docker',
    socket: '/run/x/lab/tt12ab-h2-docker/docker.sock',
    pluginDir: '/run/x/lab/tt12ab-h2-docker/plugins',
    pluginSocket: '/run/x/lab/tt12ab-h2-docker/plugins/tenet.sock',
    pidFile: '/run/x/lab/tt12ab-h2-docker/dockerd.pid',
    log: '/run/x/lab/tt12ab-h2-docker/dockerd.log',
    containerdNamespace: 'tt12ab-h2',
    netns: 'tt12ab-h2',
  });
  assert.ok(dockerDirPattern('tt12ab').test('tt12ab-h2-docker'));
  assert.ok(!dockerDirPattern('tt12ab').test('tt12abc-h2-docker'), "another lab's directory is not ours");
});

test('dockerd runs with vfs, no bridge, no iptables and its own roots', () => {
  const argv = dockerdArgv(planDockerd('/d', 'ns1')).join(' ');
  for (const flag of ['--data-root /d/data', '--exec-root /d/exec', '--pidfile /d/dockerd.pid', '-H unix:///d/docker.sock', '--storage-driver=vfs', '--iptables=false', '--ip-masq=false', '--bridge=none', '--containerd-namespace ns1']) {
    assert.ok(argv.includes(flag), flag);
  }
});

test("each lab dockerd finds only its own plugin dir, and enters the host's netns with nsenter (not ip netns exec)", () => {
  const script = startScript(planHostDockerd(c, planHost(c, 1)));
  assert.match(script, /^mount --bind \/run\/x\/lab\/tt12ab-h1-docker\/plugins \/run\/docker\/plugins$/m);
  assert.match(script, /^exec nsenter --net=\/run\/netns\/tt12ab-h1 dockerd /m);
  assert.doesNotMatch(script, /ip netns exec/);
  const shared = startScript(planDockerd('/d', 'ns1', undefined, true));
  assert.doesNotMatch(shared, /mount --bind/, "a test's dockerd sees its caller's plugins");
  assert.match(shared, /^exec dockerd /m);
});

test('a dockerd is recognised by its data root only', () => {
  const cmd = dockerdArgv(planDockerd('/d', 'ns1')).join(' ');
  assert.ok(isDockerd(`/usr/sbin/${cmd}`, '/d'));
  assert.ok(!isDockerd(cmd, '/d2'));
  assert.ok(!isDockerd('node tenet agent --docker-socket /d/docker.sock --data-root /d/data', '/d'));
});

test("with docker, a host's agent serves the plugin in its dockerd's plugin dir, with a state dir of its own", () => {
  const h = { ...planHost(c, 1), docker: planHostDockerd(c, planHost(c, 1)) };
  const argv = defaultAgentArgv(h, c).join(' ');
  assert.match(argv, / --docker --docker-socket \/run\/x\/lab\/tt12ab-h1-docker\/docker.sock --docker-plugin-socket \/run\/x\/lab\/tt12ab-h1-docker\/plugins\/tenet.sock --state-dir \/run\/x\/lab\/tt12ab-h1-docker\/agent-state$/);
  assert.doesNotMatch(defaultAgentArgv(planHost(c, 1), c).join(' '), /--docker/);
});

test('tenet lab docker without a lab says to bring one up', () => {
  assert.throws(() => dockerArgv(resolveConfig({ prefix: 'nolab9', runDir: '/nonexistent' }), 'h1', ['ps']), { code: 'LAB_ERROR', message: /no lab with prefix nolab9/ });
});
