package kube

// Permission is one RBAC rule the provisioner needs in its namespace.
type Permission struct {
	APIGroup string // "" is the core group
	Resource string
	Verbs    []string
}

// RequiredPermissions is every call the provisioner makes, as RBAC rules in
// its namespace: nothing cluster-wide, no pods, no watch. The tests check
// that the provisioner makes no other call and that the Role in
// deploy/kubernetes grants exactly this.
var RequiredPermissions = []Permission{
	// Apply: get, create, update; Stop: patch (replicas 0); Observe: get;
	// List: list; Delete: delete.
	{APIGroup: "apps", Resource: "statefulsets", Verbs: []string{"get", "list", "create", "update", "patch", "delete"}},
	// Apply: get, create, update; Observe: get; List: list; Delete: delete.
	{APIGroup: "", Resource: "services", Verbs: []string{"get", "list", "create", "update", "delete"}},
	// Apply: get, create, update; Delete: delete.
	{APIGroup: "", Resource: "secrets", Verbs: []string{"get", "create", "update", "delete"}},
	// Apply: list and update (grow to StorageGB); Delete: list, delete.
	{APIGroup: "", Resource: "persistentvolumeclaims", Verbs: []string{"list", "update", "delete"}},
}

// Allows reports whether RequiredPermissions include verb on resource.
func Allows(apiGroup, resource, verb string) bool {
	for _, p := range RequiredPermissions {
		if p.APIGroup != apiGroup || p.Resource != resource {
			continue
		}
		for _, v := range p.Verbs {
			if v == verb {
				return true
			}
		}
	}
	return false
}
