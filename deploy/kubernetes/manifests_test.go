package kubernetes_test

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/yaml"

	"github.com/orbitmq/orbit/controlplane/provision/kube"
)

type manifest struct {
	file string
	obj  runtime.Object
}

// kustomization is the part of kustomize's file these manifests use.
type kustomization struct {
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Resources  []string `json:"resources"`
}

// decode parses one YAML document into the typed object of its apiVersion
// and kind; unknown or duplicate fields are errors.
func decode(doc string) (runtime.Object, error) {
	var tm metav1.TypeMeta
	if err := yaml.Unmarshal([]byte(doc), &tm); err != nil {
		return nil, err
	}
	obj, err := scheme.Scheme.New(schema.FromAPIVersionAndKind(tm.APIVersion, tm.Kind))
	if err != nil {
		return nil, err
	}
	return obj, yaml.UnmarshalStrict([]byte(doc), obj)
}

func TestDecodeIsStrict(t *testing.T) {
	_, err := decode("apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec: {selectr: {a: b}}\n")
	require.ErrorContains(t, err, "selectr")
	_, err = decode("apiVersion: v1\nkind: Service\nmetadata: {name: x, name: y}\n")
	require.Error(t, err, "duplicate field")
	_, err = decode("apiVersion: example.com/v1\nkind: Widget\n")
	require.Error(t, err, "unknown kind")
	_, err = decode("apiVersion: v1\nkind: Service\nmetadata: {name: x}\nspec: {selector: {a: b}}\n")
	require.NoError(t, err)
}

var docSep = regexp.MustCompile(`(?m)^---[ \t]*$`)

// load parses every YAML document in the directory strictly (unknown or
// duplicate fields fail) into the typed object of its apiVersion and kind.
func load(t *testing.T) ([]manifest, *kustomization) {
	t.Helper()
	files, err := filepath.Glob("*.yaml")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	var (
		out []manifest
		kz  *kustomization
	)
	for _, f := range files {
		data, err := os.ReadFile(f)
		require.NoError(t, err)
		for i, doc := range docSep.Split(string(data), -1) {
			if strings.TrimSpace(stripComments(doc)) == "" {
				continue
			}
			var tm metav1.TypeMeta
			require.NoError(t, yaml.Unmarshal([]byte(doc), &tm), "%s document %d", f, i)
			if tm.Kind == "Kustomization" {
				kz = &kustomization{}
				require.NoError(t, yaml.UnmarshalStrict([]byte(doc), kz), f)
				continue
			}
			obj, err := decode(doc)
			require.NoError(t, err, "%s document %d", f, i)
			out = append(out, manifest{file: f, obj: obj})
		}
	}
	return out, kz
}

func stripComments(doc string) string {
	var b bytes.Buffer
	for _, l := range strings.Split(doc, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "#") {
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}

func find[T runtime.Object](ms []manifest) []T {
	var out []T
	for _, m := range ms {
		if o, ok := m.obj.(T); ok {
			out = append(out, o)
		}
	}
	return out
}

func one[T runtime.Object](t *testing.T, ms []manifest, name string) T {
	t.Helper()
	for _, o := range find[T](ms) {
		if any(o).(metav1.Object).GetName() == name {
			return o
		}
	}
	var zero T
	t.Fatalf("no %T named %s", zero, name)
	return zero
}

func TestManifestsParse(t *testing.T) {
	ms, kz := load(t)
	namespaces := map[string]bool{}
	for _, n := range find[*corev1.Namespace](ms) {
		namespaces[n.Name] = true
	}
	seen := map[string]string{}
	for _, m := range ms {
		o := m.obj.(metav1.Object)
		gvk := m.obj.GetObjectKind().GroupVersionKind()
		key := gvk.Kind + "/" + o.GetNamespace() + "/" + o.GetName()
		require.Empty(t, seen[key], "%s is defined twice (%s and %s)", key, seen[key], m.file)
		seen[key] = m.file
		require.NotEmpty(t, o.GetName(), "%s: %s without a name", m.file, gvk.Kind)
		if gvk.Kind != "Namespace" {
			require.True(t, namespaces[o.GetNamespace()], "%s: %s %s is in namespace %q, which the manifests do not create", m.file, gvk.Kind, o.GetName(), o.GetNamespace())
		}
		require.Equal(t, "orbit", o.GetLabels()["app.kubernetes.io/part-of"], "%s: %s %s lacks app.kubernetes.io/part-of=orbit", m.file, gvk.Kind, o.GetName())
	}
	require.Empty(t, find[*rbacv1.ClusterRole](ms), "no cluster-wide permissions")
	require.Empty(t, find[*rbacv1.ClusterRoleBinding](ms), "no cluster-wide permissions")

	require.NotNil(t, kz, "kustomization.yaml")
	files, err := filepath.Glob("*.yaml")
	require.NoError(t, err)
	files = slices.DeleteFunc(files, func(f string) bool { return f == "kustomization.yaml" })
	require.ElementsMatch(t, files, kz.Resources, "kustomization.yaml lists every manifest")
}

// TestSelectorsMatch: every Service, Deployment and StatefulSet selects
// the pods it is meant for, and Services target named container ports.
func TestSelectorsMatch(t *testing.T) {
	ms, _ := load(t)
	type workload struct {
		ns     string
		labels map[string]string
		pod    corev1.PodSpec
	}
	var pods []workload
	for _, d := range find[*appsv1.Deployment](ms) {
		require.Equal(t, d.Spec.Selector.MatchLabels, pick(d.Spec.Template.Labels, d.Spec.Selector.MatchLabels), d.Name)
		pods = append(pods, workload{d.Namespace, d.Spec.Template.Labels, d.Spec.Template.Spec})
	}
	for _, s := range find[*appsv1.StatefulSet](ms) {
		require.Equal(t, s.Spec.Selector.MatchLabels, pick(s.Spec.Template.Labels, s.Spec.Selector.MatchLabels), s.Name)
		one[*corev1.Service](t, ms, s.Spec.ServiceName)
		pods = append(pods, workload{s.Namespace, s.Spec.Template.Labels, s.Spec.Template.Spec})
	}
	for _, svc := range find[*corev1.Service](ms) {
		var matched *workload
		for i, p := range pods {
			if p.ns == svc.Namespace && len(svc.Spec.Selector) > 0 && maps(pick(p.labels, svc.Spec.Selector), svc.Spec.Selector) {
				matched = &pods[i]
			}
		}
		require.NotNil(t, matched, "service %s selects no pods", svc.Name)
		for _, port := range svc.Spec.Ports {
			found := false
			for _, c := range matched.pod.Containers {
				for _, cp := range c.Ports {
					found = found || cp.Name == port.TargetPort.StrVal
				}
			}
			require.True(t, found, "service %s port %s targets %q, which no container names", svc.Name, port.Name, port.TargetPort.String())
		}
	}
}

func pick(m, keys map[string]string) map[string]string {
	out := map[string]string{}
	for k := range keys {
		if v, ok := m[k]; ok {
			out[k] = v
		}
	}
	return out
}

func maps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestServeDeployment(t *testing.T) {
	ms, _ := load(t)
	d := one[*appsv1.Deployment](t, ms, "orbit-serve")
	require.GreaterOrEqual(t, *d.Spec.Replicas, int32(2))
	require.Equal(t, "orbit-serve", d.Spec.Template.Spec.ServiceAccountName)
	one[*corev1.ServiceAccount](t, ms, "orbit-serve")
	c := d.Spec.Template.Spec.Containers[0]
	require.Equal(t, []string{"serve"}, c.Args)
	env := map[string]corev1.EnvVar{}
	for _, e := range c.Env {
		env[e.Name] = e
	}
	require.Contains(t, env, "ORBIT_DATABASE_URL")
	ref := env["ORBIT_DATABASE_URL"].ValueFrom.SecretKeyRef
	require.NotNil(t, ref, "the database URL comes from a Secret")
	sec := one[*corev1.Secret](t, ms, ref.Name)
	require.Equal(t, d.Namespace, sec.Namespace)
	_, inData := sec.Data[ref.Key]
	_, inString := sec.StringData[ref.Key]
	require.True(t, inData || inString, "secret %s has no key %s", ref.Name, ref.Key)
	require.True(t, strings.HasPrefix(sec.StringData[ref.Key]+string(sec.Data[ref.Key]), "postgres://"))
	require.Equal(t, "0.0.0.0:8080", env["ORBIT_LISTEN"].Value)
	one[*corev1.Service](t, ms, "orbit-serve")
}

// TestRBACCoversProvisioner: the Role grants exactly kube.RequiredPermissions
// (least privilege), in the namespace the provisioner is configured for, to
// the service account `orbit serve` runs as.
func TestRBACCoversProvisioner(t *testing.T) {
	ms, _ := load(t)
	d := one[*appsv1.Deployment](t, ms, "orbit-serve")
	var provNS string
	for _, e := range d.Spec.Template.Spec.Containers[0].Env {
		if e.Name == "ORBIT_KUBE_NAMESPACE" {
			provNS = e.Value
		}
	}
	require.NotEmpty(t, provNS, "ORBIT_KUBE_NAMESPACE")

	roles := find[*rbacv1.Role](ms)
	require.Len(t, roles, 1)
	role := roles[0]
	require.Equal(t, provNS, role.Namespace, "the Role is where the provisioner creates objects")

	granted := map[string]bool{}
	for _, r := range role.Rules {
		require.Empty(t, r.ResourceNames, "rules are not limited by name: instance names are not known in advance")
		require.Empty(t, r.NonResourceURLs)
		for _, g := range r.APIGroups {
			for _, res := range r.Resources {
				for _, v := range r.Verbs {
					require.NotEqual(t, "*", v)
					require.NotEqual(t, "*", res)
					granted[g+"|"+res+"|"+v] = true
				}
			}
		}
	}
	needed := map[string]bool{}
	for _, p := range kube.RequiredPermissions {
		for _, v := range p.Verbs {
			needed[p.APIGroup+"|"+p.Resource+"|"+v] = true
		}
	}
	require.Equal(t, needed, granted, "the Role must grant exactly what the provisioner calls")

	var bound bool
	for _, rb := range find[*rbacv1.RoleBinding](ms) {
		if rb.RoleRef.Kind != "Role" || rb.RoleRef.Name != role.Name {
			continue
		}
		require.Equal(t, role.Namespace, rb.Namespace)
		for _, s := range rb.Subjects {
			if s.Kind == rbacv1.ServiceAccountKind && s.Name == d.Spec.Template.Spec.ServiceAccountName && s.Namespace == d.Namespace {
				bound = true
			}
		}
	}
	require.True(t, bound, "no RoleBinding gives the Role to the orbit-serve service account")
}
