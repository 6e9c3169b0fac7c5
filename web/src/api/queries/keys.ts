// Query keys shared across resources. Each resource's keys start with its
// name, so invalidating ['users'] refreshes every users query.
export const meKey = ['me'] as const;
export const usersKey = ['users'] as const;
export const tokensKey = ['tokens'] as const;
export const auditKey = ['auditEvents'] as const;
export const instancesKey = ['instances'] as const;
export const specsKey = ['specs'] as const;
export const topicsKey = ['topics'] as const;
export const groupsKey = ['consumerGroups'] as const;
export const accessKeysKey = ['accessKeys'] as const;
