/**
 * `tenet policy create|update|rate|check|ls|show|rm` (issue 7): a tenant's policies in the
 * rule language (README "Policies"). Rules are parsed by the controller, so a bad rule is
 * reported with its number and position exactly as the API reports it, and nothing is made.
 *   policy create NAME --tenant T --rule "..." [--rule ...]
 *   policy update NAME --tenant T --add-rule "..." --remove-rule N    (removals first, 1-based)
 *   policy rate NAME --tenant T --target SEL [--egress R] [--ingress R] (neither: remove it)
 *   policy check --tenant T --from EP --to EP|IP --proto P [--port N]
 */
import { InvalidArgumentError, Option, type Command } from 'commander';
import type { PolicyCheckResult, PolicyDetail } from '../api/types.js';
import { formatAge, formatFields, formatJson, tableOf, type Column } from '../base/table.js';
import type { Policy, RateLimit } from '../model/policy.js';
import { formatSelector } from '../model/policy-parse.js';
import { formatRate } from '../model/policy-rate.js';
import { globals, print, printDone, printOne, printRows, wholeNumber, withController } from './context.js';

const tenantOption = () => new Option('--tenant <tenant>', 'tenant that owns the policy').makeOptionMandatory();
const collect = (v: string, previous: string[] = []): string[] => [...previous, v];
const collectNumber = (v: string, previous: number[] = []): number[] => [...previous, wholeNumber(1)(v)];

export const policyColumns: Column<Policy>[] = [
  { header: 'TENANT', value: (p) => p.tenant },
  { header: 'NAME', value: (p) => p.name },
  { header: 'RULES', value: (p) => p.rules.length },
  { header: 'RATES', value: (p) => p.rates.length },
  { header: 'UPDATED', value: (p) => formatAge(p.updatedAt) },
];

const rateText = (bps: number | undefined): string => (bps === undefined ? '-' : formatRate(bps));
const rateColumns: Column<RateLimit>[] = [
  { header: 'TARGET', value: (r) => formatSelector(r.target) },
  { header: 'EGRESS', value: (r) => rateText(r.egressBps) },
  { header: 'INGRESS', value: (r) => rateText(r.ingressBps) },
];

export function addPolicyCommands(program: Command): void {
  const policy = program.command('policy').description('connect networks, fence traffic inside them and limit rates, with rules');
  addWrites(policy);
  addReads(policy);
}

function addWrites(policy: Command): void {
  policy
    .command('create')
    .description('create a policy from rules: ACTION [PROTO] from SELECTOR to SELECTOR [port PORTS] [priority N] [log]')
    .argument('<name>', 'policy name')
    .addOption(tenantOption())
    .option('--rule <rule>', 'a rule, e.g. "allow tcp from net:red to net:green port 5432" (repeatable, in order)', collect)
    .action(async (name: string, opts: { tenant: string; rule?: string[] }, cmd: Command) => {
      printOne(cmd, await withController(cmd, (c) => c.createPolicy(opts.tenant, { name, rules: opts.rule ?? [] })), policyColumns);
    });

  policy
    .command('update')
    .description('remove rules by number (as policy show numbers them), then add rules at the end; one change')
    .argument('<name>', 'policy name')
    .addOption(tenantOption())
    .option('--add-rule <rule>', 'a rule to add (repeatable)', collect)
    .option('--remove-rule <n>', 'number of a rule to remove (repeatable)', collectNumber)
    .action(async (name: string, opts: { tenant: string; addRule?: string[]; removeRule?: number[] }, cmd: Command) => {
      if (!opts.addRule && !opts.removeRule) cmd.error('error: give --add-rule or --remove-rule');
      const req = { addRules: opts.addRule ?? [], removeRules: opts.removeRule ?? [] };
      printOne(cmd, await withController(cmd, (c) => c.updatePolicy(opts.tenant, name, req)), policyColumns);
    });

  policy
    .command('rate')
    .description('limit the rate of the endpoints a target matches (tc units: 500kbit, 20mbit, 1gbit); without --egress and --ingress, remove the limit')
    .argument('<name>', 'policy name')
    .addOption(tenantOption())
    .requiredOption('--target <selector>', 'net:NAME, group:KEY=VALUE or ep:ID')
    .option('--egress <rate>', 'what each endpoint may send, e.g. 20mbit')
    .option('--ingress <rate>', 'what each endpoint may receive, e.g. 50mbit')
    .action(async (name: string, opts: { tenant: string; target: string; egress?: string; ingress?: string }, cmd: Command) => {
      const p = await withController(cmd, (c) => c.setPolicyRate(opts.tenant, name, { target: opts.target, egress: opts.egress, ingress: opts.ingress }));
      if (globals(cmd).output === 'json') print(cmd, formatJson(p));
      else print(cmd, p.rates.length ? tableOf(p.rates, rateColumns) : `policy ${name} has no rate limits\n`);
    });

  policy
    .command('rm')
    .description('remove a policy (it must be attached to no network)')
    .argument('<name>', 'policy name')
    .addOption(tenantOption())
    .action(async (name: string, opts: { tenant: string }, cmd: Command) => {
      await withController(cmd, (c) => c.deletePolicy(opts.tenant, name));
      printDone(cmd, `removed policy ${name} of tenant ${opts.tenant}`);
    });
}

function protoArg(text: string): 'tcp' | 'udp' | 'icmp' {
  if (text === 'tcp' || text === 'udp' || text === 'icmp') return text;
  throw new InvalidArgumentError('expected tcp, udp or icmp.');
}

function addReads(policy: Command): void {
  policy
    .command('ls')
    .description('list policies, of every tenant or of one')
    .option('--tenant <tenant>', 'only this tenant')
    .action(async (opts: { tenant?: string }, cmd: Command) => {
      printRows(cmd, await withController(cmd, (c) => c.listPolicies(opts.tenant)), policyColumns);
    });

  policy
    .command('show')
    .description('show a policy: its rules numbered, rates, attached networks and the hosts that enforce it')
    .argument('<name>', 'policy name')
    .addOption(tenantOption())
    .action(async (name: string, opts: { tenant: string }, cmd: Command) => {
      const detail = await withController(cmd, (c) => c.getPolicy(opts.tenant, name));
      print(cmd, globals(cmd).output === 'json' ? formatJson(detail) : showText(detail));
    });

  policy
    .command('check')
    .description('the verdict for one flow and the rule that decides it, as every host enforces it')
    .addOption(new Option('--tenant <tenant>', 'tenant of the endpoints').makeOptionMandatory())
    .requiredOption('--from <endpoint>', 'source endpoint id')
    .requiredOption('--to <endpoint-or-ip>', 'destination endpoint id or IPv4 address')
    .requiredOption('--proto <proto>', 'tcp, udp or icmp', protoArg)
    .option('--port <n>', 'destination port (tcp, udp)', wholeNumber(1))
    .action(async (opts: { tenant: string; from: string; to: string; proto: 'tcp' | 'udp' | 'icmp'; port?: number }, cmd: Command) => {
      const req = { from: opts.from, to: opts.to, proto: opts.proto, ...(opts.port === undefined ? {} : { port: opts.port }) };
      const result = await withController(cmd, (c) => c.checkPolicy(opts.tenant, req));
      print(cmd, globals(cmd).output === 'json' ? formatJson(result) : checkText(result));
    });
}

export function checkText(r: PolicyCheckResult): string {
  const why = r.rule ? `policy ${r.rule.policy} rule ${r.rule.index}: ${r.rule.text}` : r.reason;
  return `${r.verdict} (${why})\n`;
}

function showText(d: PolicyDetail): string {
  const p = d.policy;
  const r = d.realization;
  const fields = formatFields([
    ['name', p.name],
    ['tenant', p.tenant],
    ['id', p.id],
    ['networks', d.networks.join(', ') || '- (attached to none: not in force)'],
    ['realized', r.hosts.length === 0 ? `- (no host carries tenant ${p.tenant} yet)` : `${r.realized ? 'yes' : 'no'} (revision ${r.revision}, ${r.hosts.filter((h) => h.realized).length}/${r.hosts.length} hosts)`],
    ['updated', `${p.updatedAt} (${formatAge(p.updatedAt)})`],
  ]);
  const rules = p.rules.length ? tableOf(p.rules.map((rule, i) => ({ n: i + 1, text: rule.text })), [{ header: '#', value: (x) => x.n }, { header: 'RULE', value: (x) => x.text }]) : 'no rules\n';
  const rates = p.rates.length ? `\n${tableOf(p.rates, rateColumns)}` : '';
  const hosts = r.hosts.length
    ? `\n${tableOf(r.hosts, [
        { header: 'HOST', value: (h) => h.host },
        { header: 'STATE', value: (h) => h.state },
        { header: 'REALIZED', value: (h) => (h.realized ? 'yes' : 'no') },
        { header: 'REVISION', value: (h) => h.realizedRevision },
      ])}`
    : '';
  return `${fields}\n${rules}${rates}${hosts}`;
}
