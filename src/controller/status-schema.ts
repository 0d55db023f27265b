/**
 * The response schema of GET /v1/status (ADR 009: fastify serializes through it, so it must
 * name every field of ClusterStatus; `Matches` checks that at compile time).
 */
import { Type } from '@sinclair/typebox';
import type { ClusterStatus } from '../api/types.js';
import { assertType, type Matches } from '../model/schemas.js';

const Str = Type.String;
const Int = Type.Integer;
const Bool = Type.Boolean;
const Opt = Type.Optional;

const StoreMemberSchema = Type.Object({ name: Str(), endpoint: Str(), healthy: Bool(), leader: Bool(), error: Opt(Str()) });
const StoreStatusSchema = Type.Object({
  backend: Type.Union([Type.Literal('memory'), Type.Literal('sqlite'), Type.Literal('etcd')]),
  healthy: Bool(),
  revision: Int(),
  members: Type.Array(StoreMemberSchema),
  error: Opt(Str()),
});
const ControllerViewSchema = Type.Object({ id: Str(), urls: Type.Array(Str()), version: Str(), startedAt: Str(), leader: Bool() });
const UnrealizedSchema = Type.Object({
  kind: Type.Union([Type.Literal('endpoint'), Type.Literal('policy')]),
  id: Str(),
  tenant: Str(),
  revision: Int(),
  behind: Int(),
  hosts: Type.Array(Str()),
});

export const ClusterStatusSchema = Type.Object(
  {
    store: StoreStatusSchema,
    controllers: Type.Array(ControllerViewSchema),
    leader: Opt(Str()),
    hosts: Type.Object({ up: Int(), down: Int(), downNames: Type.Array(Str()) }),
    unrealized: Type.Object({ endpoints: Int(), policies: Int(), first: Type.Array(UnrealizedSchema) }),
    error: Opt(Str()),
  },
  { title: 'ClusterStatus' },
);

assertType<Matches<typeof ClusterStatusSchema, ClusterStatus>>();
