// Domain types, derived from the generated schema so they follow the server's
// OpenAPI document. Only this file knows how the document names things.
import type { components, paths } from './schema.gen';

type Schemas = components['schemas'];

export type User = Schemas['User'];
export type Account = Schemas['Account'];
export type Token = Schemas['Token'];
export type AuditEvent = Schemas['AuditEvent'];
export type Me = Schemas['Me'];
export type SessionResponse = Schemas['Session'];
export type CreatedToken = Schemas['CreatedToken'];
export type Problem = Schemas['Problem'];

export type SignupBody = Schemas['SignUpRequest'];
export type LoginBody = Schemas['LoginRequest'];
export type CreateUserBody = Schemas['CreateUserRequest'];
export type UpdateUserBody = Schemas['UpdateUserRequest'];
export type CreateTokenBody = Schemas['CreateTokenRequest'];

export type Role = User['role'];

export type AuditQuery = NonNullable<paths['/api/v1/auditEvents']['get']['parameters']['query']>;
export type AuditFilters = Omit<AuditQuery, 'pageSize' | 'pageToken'>;

export type Spec = Schemas['Spec'];
export type Instance = Schemas['Instance'];
export type InstanceStatus = Instance['status'];
export type FlushMode = Instance['flushMode'];
export type CreateInstanceBody = Schemas['CreateInstanceRequest'];
export type UpdateInstanceBody = Schemas['UpdateInstanceRequest'];
