/**
 * The parser of the rule language (issue 7, model/policy.ts):
 *
 *   ACTION [PROTO] from SELECTOR to SELECTOR [port PORTS] [priority N] [log]
 *
 * A rule is a handful of words, so it is split on whitespace and read word by word. Every
 * error is one TenetError line that says which rule, the 1-based character position of the
 * wrong word in the rule as typed, the word, and what was expected there, so a user (or a UI)
 * can point at it. Keywords are case-insensitive and stored lowercase; names and label values
 * keep their case. The options after the selectors may come in any order, each at most once
 * (a network engineer writes "priority 10 port 80" as often as the other way round).
 * A port list may carry spaces after its commas ("80, 443"): they are joined into one list.
 */
import { formatCidr, maskOf, parseIp } from '../base/cidr.js';
import { TenetError, type ErrorCode } from './errors.js';
import { MAX_RULE_TEXT } from './limits.js';
import { DEFAULT_PRIORITY, type PolicyAction, type PolicyProto, type PolicyRule, type PortRange, type Selector } from './policy.js';
import { shown, validateLabelKey, validateLabelValue } from './validate-endpoint.js';
import { validateName } from './validate.js';

export const MAX_PRIORITY = 65535;
const ACTIONS: readonly PolicyAction[] = ['allow', 'deny', 'reject'];
const PROTOS: readonly PolicyProto[] = ['any', 'tcp', 'udp', 'icmp'];
const OPTIONS = ['port', 'priority', 'log'] as const;
type OptionWord = (typeof OPTIONS)[number];
const ENDPOINT_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const SELECTOR_FORMS = 'any, net:NAME, group:KEY=VALUE, cidr:A.B.C.D/N or ep:ID';

interface Word {
  text: string;
  /** 1-based character position in the rule as typed. */
  at: number;
}

/** Reads one rule's words; `fail` makes the one-line error every problem becomes. */
class Reader {
  private i = 0;
  constructor(
    readonly words: Word[],
    /** "rule 2", "target": where the text came from. */
    private readonly label: string,
    private readonly endAt: number,
  ) {}

  peek(): Word | undefined {
    return this.words[this.i];
  }
  next(): Word | undefined {
    return this.words[this.i++];
  }
  fail(code: ErrorCode, at: number, message: string): TenetError {
    return new TenetError(code, `${this.label}, position ${at}: ${message}`);
  }
  /** The error for a missing or wrong word where `expected` should be. */
  unexpected(word: Word | undefined, what: string, expected: string): TenetError {
    if (!word) return this.fail('INVALID_RULE', this.endAt, `the rule ends too early; expected ${expected}`);
    return this.fail('INVALID_RULE', word.at, `${shown(word.text)} is not ${what}; expected ${expected}`);
  }
}

/** Splits on whitespace, remembering where each word starts. */
function wordsOf(text: string): Word[] {
  return [...text.matchAll(/\S+/g)].map((m) => ({ text: m[0], at: (m.index ?? 0) + 1 }));
}

/** Parses one rule; `ruleNo` (1-based) names it in errors, as "`noun` N". */
export function parseRule(text: unknown, ruleNo = 1, noun = 'rule'): PolicyRule {
  const name = `${noun} ${ruleNo}`;
  if (typeof text !== 'string') throw new TenetError('INVALID_RULE', `${name}: a rule is a string such as "allow tcp from any to net:db port 5432"`);
  if (text.length > MAX_RULE_TEXT) throw new TenetError('INVALID_RULE', `${name}: longer than ${MAX_RULE_TEXT} characters (${text.length})`);
  const r = new Reader(wordsOf(text), name, text.length + 1);
  const action = keyword(r, ACTIONS, 'an action', 'allow, deny or reject');
  const proto = protoOrFrom(r);
  const from = selector(r);
  const toWord = r.next();
  if (toWord?.text.toLowerCase() !== 'to') throw r.unexpected(toWord, 'a keyword', 'to');
  const to = selector(r);
  const rule: PolicyRule = { text: '', action, proto, from, to, ports: [], priority: DEFAULT_PRIORITY, log: false };
  options(r, rule);
  rule.text = normalized(r.words);
  return rule;
}

/** A rate limit's target: one selector, net:, group: or ep: (rates apply to endpoints). */
export function parseRateTarget(text: unknown): Selector {
  const fix = 'give net:NAME, group:KEY=VALUE or ep:ID';
  if (typeof text !== 'string' || text.length > MAX_RULE_TEXT) throw new TenetError('INVALID_RATE', `invalid rate target ${shown(text)}`, fix);
  const r = new Reader(wordsOf(text), 'target', text.length + 1);
  const target = selector(r);
  const extra = r.next();
  if (extra) throw r.fail('INVALID_RATE', extra.at, `${shown(extra.text)} follows the selector; a target is one selector`);
  if (target.kind === 'any' || target.kind === 'cidr') throw new TenetError('INVALID_RATE', `a rate cannot target ${shown(text.trim())}: rates apply to endpoints`, fix);
  return target;
}

/** A selector as the rule language writes it. */
export function formatSelector(s: Selector): string {
  switch (s.kind) {
    case 'any':
      return 'any';
    case 'net':
      return `net:${s.name}`;
    case 'group':
      return `group:${s.key}=${s.value}`;
    case 'cidr':
      return `cidr:${s.cidr}`;
    case 'ep':
      return `ep:${s.id}`;
  }
}

/** Parses every rule of a list; the first bad one fails the whole list (nothing half-made). */
export function parseRules(texts: readonly unknown[], noun = 'rule'): PolicyRule[] {
  return texts.map((t, i) => parseRule(t, i + 1, noun));
}

function keyword<T extends string>(r: Reader, allowed: readonly T[], what: string, expected: string): T {
  const w = r.next();
  const word = w?.text.toLowerCase();
  if (w && allowed.includes(word as T)) return word as T;
  throw r.unexpected(w, what, expected);
}

function protoOrFrom(r: Reader): PolicyProto {
  const w = r.peek();
  const word = w?.text.toLowerCase();
  if (word === 'from') {
    r.next();
    return 'any';
  }
  const proto = keyword(r, PROTOS, 'a protocol', 'any, tcp, udp, icmp or from');
  const f = r.next();
  if (f?.text.toLowerCase() !== 'from') throw r.unexpected(f, 'a keyword', 'from');
  return proto;
}

function selector(r: Reader): Selector {
  const w = r.next();
  if (!w) throw r.unexpected(w, 'a selector', SELECTOR_FORMS);
  const word = w.text;
  if (word.toLowerCase() === 'any') return { kind: 'any' };
  const colon = word.indexOf(':');
  const kind = colon > 0 ? word.slice(0, colon).toLowerCase() : '';
  const value = word.slice(colon + 1);
  const valueAt = w.at + colon + 1;
  const wrap = (fn: () => Selector) => rewrapped(r, valueAt, fn);
  switch (kind) {
    case 'net':
      return wrap(() => ({ kind: 'net', name: validateName('network', value) }));
    case 'group':
      return wrap(() => group(value));
    case 'cidr':
      return wrap(() => ({ kind: 'cidr', cidr: cidrValue(value) }));
    case 'ep':
      if (!ENDPOINT_ID.test(value)) throw r.fail('INVALID_RULE', valueAt, `invalid endpoint id ${shown(value)}; expected an endpoint id as tenet ep ls shows it`);
      return { kind: 'ep', id: value };
    default:
      throw r.unexpected(w, 'a selector', SELECTOR_FORMS);
  }
}

/** A validator's error, with the rule and position in front (its code and fix kept). */
function rewrapped<T>(r: Reader, at: number, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof TenetError) throw r.fail(err.code, at, err.message);
    throw err;
  }
}

function group(value: string): Selector {
  const eq = value.indexOf('=');
  if (eq < 0) throw new TenetError('INVALID_LABEL', `group ${shown(value)} has no "="`, 'write group:KEY=VALUE, e.g. group:tier=web');
  const key = validateLabelKey(value.slice(0, eq));
  return { kind: 'group', key, value: validateLabelValue(key, value.slice(eq + 1)) };
}

/** An IPv4 prefix with host bits clear; a bare address means that one host (/32). */
function cidrValue(text: string): string {
  const [ip, len, extra] = text.includes('/') ? text.split('/') : [text, '32'];
  const addr = parseIp(ip ?? '');
  const prefixLen = /^\d{1,2}$/.test(len ?? '') ? Number(len) : NaN;
  if (addr === undefined || extra !== undefined || !(prefixLen <= 32)) {
    throw new TenetError('INVALID_CIDR', `invalid CIDR ${shown(text)}`, 'give an IPv4 prefix such as 192.168.10.0/24');
  }
  const base = (addr & maskOf(prefixLen)) >>> 0;
  if (base !== addr) {
    const network = formatCidr({ base, prefixLen });
    throw new TenetError('INVALID_CIDR', `CIDR ${shown(text)} has host bits set`, `the network is ${network}`);
  }
  return formatCidr({ base, prefixLen });
}

/** port / priority / log, in any order, each at most once, then the end. */
function options(r: Reader, rule: PolicyRule): void {
  const seen = new Set<OptionWord>();
  for (let w = r.next(); w; w = r.next()) {
    const word = w.text.toLowerCase() as OptionWord;
    const left = OPTIONS.filter((o) => !seen.has(o));
    const expected = orList([...left, 'the end']);
    if (seen.has(word)) throw r.fail('INVALID_RULE', w.at, `${shown(w.text)} is given twice; expected ${expected}`);
    if (!left.includes(word)) throw r.unexpected(w, 'a keyword', expected);
    seen.add(word);
    if (word === 'log') rule.log = true;
    else if (word === 'priority') rule.priority = priority(r, w);
    else rule.ports = ports(r, w, rule.proto);
  }
}

function priority(r: Reader, keywordWord: Word): number {
  const w = r.next();
  if (!w) throw r.fail('INVALID_RULE', keywordWord.at, `priority needs a number; expected a whole number 0..${MAX_PRIORITY}`);
  const n = Number(w.text);
  if (!/^\d{1,5}$/.test(w.text) || n > MAX_PRIORITY) {
    throw r.fail('INVALID_RULE', w.at, `${shown(w.text)} is not a priority; expected a whole number 0..${MAX_PRIORITY} (lower is evaluated first, default ${DEFAULT_PRIORITY})`);
  }
  return n;
}

/** "80", "80,443", "8000-8080" and combinations; spaces after commas join the next word. */
function ports(r: Reader, keywordWord: Word, proto: PolicyProto): PortRange[] {
  if (proto !== 'tcp' && proto !== 'udp') {
    throw r.fail('INVALID_RULE', keywordWord.at, `"port" needs tcp or udp, and this rule's protocol is ${proto}; write e.g. "allow tcp from ... port 80"`);
  }
  const first = r.next();
  if (!first) throw r.fail('INVALID_RULE', keywordWord.at, 'port needs a value; expected PORTS such as 80, 80,443 or 8000-8080');
  const parts: Word[] = [first];
  while (parts[parts.length - 1]!.text.endsWith(',') || r.peek()?.text.startsWith(',')) {
    const more = r.next();
    if (!more) break;
    parts.push(more);
  }
  return splitList(parts).map((item) => portRange(r, item));
}

/** The comma-separated items of words joined without their spaces, each with its position. */
function splitList(parts: Word[]): Word[] {
  const chars = parts.flatMap((p) => [...p.text].map((c, i) => ({ c, at: p.at + i })));
  const items: Word[] = [{ text: '', at: chars[0]?.at ?? 1 }];
  chars.forEach((ch, i) => {
    if (ch.c === ',') items.push({ text: '', at: chars[i + 1]?.at ?? ch.at + 1 });
    else items[items.length - 1]!.text += ch.c;
  });
  return items;
}

function portRange(r: Reader, item: Word): PortRange {
  const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(item.text);
  const bad = (why: string) => r.fail('INVALID_RULE', item.at, `${shown(item.text)} ${why}; expected a port 1..65535 or a range such as 8000-8080`);
  if (!m) throw bad('is not a port');
  const from = Number(m[1]);
  const to = m[2] === undefined ? from : Number(m[2]);
  if (from < 1 || from > 65535 || to < 1 || to > 65535) throw bad('is out of range');
  if (from > to) throw bad('is a range whose start is past its end');
  return { from, to };
}

/** "a, b or c" */
function orList(items: string[]): string {
  return items.length < 2 ? items.join('') : `${items.slice(0, -1).join(', ')} or ${items[items.length - 1]}`;
}

/** The rule as typed, with single spaces and lowercase keywords. */
function normalized(words: Word[]): string {
  const keywords = new Set<string>([...ACTIONS, ...PROTOS, ...OPTIONS, 'from', 'to']);
  return words
    .map((w) => (keywords.has(w.text.toLowerCase()) ? w.text.toLowerCase() : w.text))
    .join(' ')
    .replace(/ ,/g, ',')
    .replace(/, /g, ',');
}
