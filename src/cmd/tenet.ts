#!/usr/bin/env node
/**
 * The `tenet` executable: user commands (src/cli), lab commands (src/lab) and the daemons.
 */
import { buildProgram, runCli } from '../cli/program.js';
import { addLabCommands } from '../lab/commands.js';
import { addCniCommands } from './cni.js';
import { addDaemonCommands } from './daemons.js';
import { addDockerCommands } from './docker-setup.js';

const program = buildProgram();
addLabCommands(program);
addDaemonCommands(program);
addDockerCommands(program);
addCniCommands(program);
const code = await runCli(process.argv.slice(2), program);
process.exitCode = code;
