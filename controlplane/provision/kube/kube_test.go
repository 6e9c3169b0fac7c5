package kube_test

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	"sigs.k8s.io/yaml"

	"github.com/orbitmq/orbit/controlplane/provision"
	"github.com/orbitmq/orbit/controlplane/provision/kube"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden.yaml")

const ns = "orbit-instances"

func testConfig() kube.Config {
	return kube.Config{Namespace: ns, Image: kube.DefaultImage("v1.2.3")}
}

func testSpec(id string) provision.NodeSpec {
	return provision.NodeSpec{
		InstanceID: id, AdminToken: "token-" + id, RetentionHours: 72, Flush: "sync",
		MaxTPS: 2000, MaxTopics: 100, MaxGroups: 200, StorageGB: 20, Generation: 1,
	}
}

type env struct {
	t   *testing.T
	cs  *fake.Clientset
	p   *kube.Provisioner
	ctx context.Context
	now time.Time
}

// newEnv returns a provisioner on a fake clientset holding objs. When the
// test ends it checks that every call the provisioner made is covered by
// kube.RequiredPermissions (test setup goes through the tracker, which
// records no action).
func newEnv(t *testing.T, cfg kube.Config, objs ...runtime.Object) *env {
	t.Helper()
	e := &env{t: t, cs: fake.NewClientset(objs...), ctx: t.Context(), now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	cfg.Now = func() time.Time { return e.now }
	p, err := kube.NewWithClient(cfg, e.cs)
	require.NoError(t, err)
	e.p = p
	t.Cleanup(func() {
		for _, a := range e.cs.Actions() {
			r := a.GetResource()
			res := r.Resource
			if a.GetSubresource() != "" {
				res += "/" + a.GetSubresource()
			}
			require.Truef(t, kube.Allows(r.Group, res, a.GetVerb()), "call %s %s/%s is not in RequiredPermissions", a.GetVerb(), r.Group, res)
		}
	})
	return e
}

// Tests read through the tracker, so that the clientset's actions are the
// provisioner's own.
var (
	stsGVR    = appsv1.SchemeGroupVersion.WithResource("statefulsets")
	svcGVR    = corev1.SchemeGroupVersion.WithResource("services")
	secretGVR = corev1.SchemeGroupVersion.WithResource("secrets")
	pvcGVR    = corev1.SchemeGroupVersion.WithResource("persistentvolumeclaims")
)

func get[T runtime.Object](e *env, gvr schema.GroupVersionResource, name string) T {
	e.t.Helper()
	o, err := e.cs.Tracker().Get(gvr, ns, name)
	require.NoError(e.t, err)
	return o.(T)
}

func (e *env) sts(id string) *appsv1.StatefulSet {
	return get[*appsv1.StatefulSet](e, stsGVR, kube.ObjectName(id))
}
func (e *env) svc(name string) *corev1.Service { return get[*corev1.Service](e, svcGVR, name) }
func (e *env) secret(name string) *corev1.Secret {
	return get[*corev1.Secret](e, secretGVR, name)
}
func (e *env) pvc(name string) *corev1.PersistentVolumeClaim {
	return get[*corev1.PersistentVolumeClaim](e, pvcGVR, name)
}

// names lists the objects of a kind in the namespace.
func (e *env) names(gvr schema.GroupVersionResource, kind string) []string {
	e.t.Helper()
	o, err := e.cs.Tracker().List(gvr, gvr.GroupVersion().WithKind(kind), ns)
	require.NoError(e.t, err)
	items, err := meta.ExtractList(o)
	require.NoError(e.t, err)
	var out []string
	for _, it := range items {
		m, err := meta.Accessor(it)
		require.NoError(e.t, err)
		out = append(out, m.GetName())
	}
	return out
}

// setStatus writes a StatefulSet's status the way its controller would.
func (e *env) setStatus(id string, generation int64, st appsv1.StatefulSetStatus) {
	e.t.Helper()
	s := e.sts(id)
	s.Generation = generation
	s.Status = st
	require.NoError(e.t, e.cs.Tracker().Update(stsGVR, s, ns, metav1.UpdateOptions{FieldManager: "test"}))
}

// addClaim creates the claim the StatefulSet controller would create.
func (e *env) addClaim(id string, gb int64) {
	e.t.Helper()
	s := e.sts(id)
	tpl := s.Spec.VolumeClaimTemplates[0]
	pvc := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: tpl.Name + "-" + s.Name + "-0", Namespace: ns, Labels: tpl.Labels},
		Spec:       *tpl.Spec.DeepCopy(),
	}
	pvc.Spec.Resources.Requests[corev1.ResourceStorage] = *resource.NewQuantity(gb<<30, resource.BinarySI)
	require.NoError(e.t, e.cs.Tracker().Add(pvc))
}

func writeActions(cs *fake.Clientset) []string {
	var out []string
	for _, a := range cs.Actions() {
		if v := a.GetVerb(); v != "get" && v != "list" {
			out = append(out, v+" "+a.GetResource().Resource)
		}
	}
	return out
}

func TestRenderGolden(t *testing.T) {
	external := testConfig()
	external.StorageClass = "fast-ssd"
	external.ServiceType = corev1.ServiceTypeLoadBalancer
	external.EndpointTemplate = "{id}.mq.example.com:8081"
	external.ImagePullPolicy = corev1.PullIfNotPresent
	external.ImagePullSecrets = []string{"ghcr"}
	cases := []struct {
		name string
		cfg  kube.Config
		spec provision.NodeSpec
	}{
		{"basic", testConfig(), testSpec("rmq-abc123")},
		{"external", external, func() provision.NodeSpec {
			s := testSpec("rmq-def456")
			s.Flush, s.MaxTPS, s.StorageGB, s.Generation = "async", 20000, 200, 7
			return s
		}()},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			objs, err := c.cfg.Render(c.spec)
			require.NoError(t, err)
			var buf bytes.Buffer
			for i, o := range objs.List() {
				if i > 0 {
					buf.WriteString("---\n")
				}
				b, err := yaml.Marshal(o)
				require.NoError(t, err)
				buf.Write(b)
			}
			path := filepath.Join("testdata", c.name+".golden.yaml")
			if *update {
				require.NoError(t, os.MkdirAll("testdata", 0o755))
				require.NoError(t, os.WriteFile(path, buf.Bytes(), 0o644))
			}
			want, err := os.ReadFile(path)
			require.NoError(t, err, "run go test ./controlplane/provision/kube/ -run TestRenderGolden -update")
			require.Equal(t, string(want), buf.String(), "rendered objects differ from %s (regenerate with -update)", path)
		})
	}
}

func TestApplyCreatesObjects(t *testing.T) {
	e := newEnv(t, testConfig())
	spec := testSpec("rmq-abc123")
	obs, err := e.p.Apply(e.ctx, spec)
	require.NoError(t, err)
	require.Equal(t, provision.PhaseStarting, obs.Phase)
	require.Equal(t, int64(1), obs.Generation)
	require.Equal(t, "orbit-rmq-abc123.orbit-instances.svc:8081", obs.Endpoint)
	require.Equal(t, "orbit-rmq-abc123-hl.orbit-instances.svc:9081", obs.AdminAddr)

	wantLabels := map[string]string{
		"app.kubernetes.io/name": "orbit-node", "app.kubernetes.io/instance": "rmq-abc123", "app.kubernetes.io/managed-by": "orbit",
	}
	sec := e.secret("orbit-rmq-abc123-admin")
	require.Equal(t, "token-rmq-abc123", string(sec.Data["admin-token"]))
	require.Equal(t, wantLabels, sec.Labels)

	svc := e.svc("orbit-rmq-abc123")
	require.Equal(t, corev1.ServiceTypeClusterIP, svc.Spec.Type)
	ports := map[string]int32{}
	for _, p := range svc.Spec.Ports {
		ports[p.Name] = p.Port
	}
	require.Equal(t, map[string]int32{"grpc": 8081, "admin": 9081, "http": 9082}, ports)
	hl := e.svc("orbit-rmq-abc123-hl")
	require.Equal(t, corev1.ClusterIPNone, hl.Spec.ClusterIP)

	s := e.sts("rmq-abc123")
	require.Equal(t, wantLabels, s.Labels)
	require.Equal(t, "1", s.Annotations[kube.AnnotationGeneration])
	require.Equal(t, int32(1), *s.Spec.Replicas)
	require.Equal(t, "orbit-rmq-abc123-hl", s.Spec.ServiceName)
	require.Equal(t, map[string]string{"app.kubernetes.io/name": "orbit-node", "app.kubernetes.io/instance": "rmq-abc123"}, s.Spec.Selector.MatchLabels)
	c := s.Spec.Template.Spec.Containers[0]
	require.Equal(t, "ghcr.io/orbitmq/orbit:v1.2.3", c.Image)
	require.Equal(t, []string{"node"}, c.Args)
	envs := map[string]corev1.EnvVar{}
	for _, v := range c.Env {
		envs[v.Name] = v
	}
	require.Equal(t, "/data", envs["ORBIT_NODE_DATA_DIR"].Value)
	require.Equal(t, "0.0.0.0:8081", envs["ORBIT_NODE_GRPC_ADDR"].Value)
	require.Equal(t, "0.0.0.0:9081", envs["ORBIT_NODE_ADMIN_ADDR"].Value)
	require.Equal(t, "0.0.0.0:9082", envs["ORBIT_NODE_HTTP_ADDR"].Value)
	require.Equal(t, "sync", envs["ORBIT_NODE_FLUSH"].Value)
	require.Equal(t, "72", envs["ORBIT_NODE_RETENTION_HOURS"].Value)
	tok := envs["ORBIT_NODE_ADMIN_TOKEN"]
	require.Empty(t, tok.Value, "the token must come from the Secret")
	require.Equal(t, "orbit-rmq-abc123-admin", tok.ValueFrom.SecretKeyRef.Name)
	require.Equal(t, "admin-token", tok.ValueFrom.SecretKeyRef.Key)
	require.Equal(t, "/healthz", c.ReadinessProbe.HTTPGet.Path)
	require.Equal(t, "http", c.ReadinessProbe.HTTPGet.Port.StrVal)
	require.NotNil(t, c.LivenessProbe)
	require.Equal(t, "500m", c.Resources.Requests.Cpu().String())
	require.Equal(t, "768Mi", c.Resources.Requests.Memory().String())
	require.Equal(t, "/data", c.VolumeMounts[0].MountPath)
	vct := s.Spec.VolumeClaimTemplates[0]
	require.Equal(t, "data", vct.Name)
	require.Equal(t, "20Gi", vct.Spec.Resources.Requests.Storage().String())
	require.Nil(t, vct.Spec.StorageClassName)
	require.Equal(t, wantLabels, vct.Labels)
}

func TestApplyTwiceIsIdempotent(t *testing.T) {
	e := newEnv(t, testConfig())
	spec := testSpec("rmq-abc123")
	_, err := e.p.Apply(e.ctx, spec)
	require.NoError(t, err)
	e.addClaim("rmq-abc123", 20)
	before := e.sts("rmq-abc123")
	e.cs.ClearActions()

	_, err = e.p.Apply(e.ctx, spec)
	require.NoError(t, err)
	require.Empty(t, writeActions(e.cs), "a second Apply of the same spec must write nothing")
	require.Equal(t, before, e.sts("rmq-abc123"))
}

func TestApplyNewerGeneration(t *testing.T) {
	e := newEnv(t, testConfig())
	spec := testSpec("rmq-abc123")
	_, err := e.p.Apply(e.ctx, spec)
	require.NoError(t, err)
	e.addClaim("rmq-abc123", 20)
	e.setStatus("rmq-abc123", 1, appsv1.StatefulSetStatus{ObservedGeneration: 1, Replicas: 1, ReadyReplicas: 1, UpdatedReplicas: 1})

	spec.Generation, spec.MaxTPS, spec.StorageGB, spec.RetentionHours = 2, 10000, 50, 24
	e.cs.ClearActions()
	obs, err := e.p.Apply(e.ctx, spec)
	require.NoError(t, err)
	require.Equal(t, int64(2), obs.Generation)
	require.ElementsMatch(t, []string{"update statefulsets", "update persistentvolumeclaims"}, writeActions(e.cs))

	s := e.sts("rmq-abc123")
	require.Equal(t, "2", s.Annotations[kube.AnnotationGeneration])
	c := s.Spec.Template.Spec.Containers[0]
	require.Equal(t, "2500m", c.Resources.Requests.Cpu().String())
	for _, v := range c.Env {
		if v.Name == "ORBIT_NODE_RETENTION_HOURS" {
			require.Equal(t, "24", v.Value)
		}
	}
	require.Equal(t, int32(1), s.Status.ReadyReplicas, "an update keeps the status")
	require.Equal(t, "20Gi", s.Spec.VolumeClaimTemplates[0].Spec.Resources.Requests.Storage().String(),
		"claim templates are immutable")
	pvc := e.pvc("data-orbit-rmq-abc123-0")
	require.Equal(t, "50Gi", pvc.Spec.Resources.Requests.Storage().String(), "the volume grows to the new StorageGB")

	// A smaller StorageGB never shrinks a volume.
	spec.Generation, spec.StorageGB = 3, 10
	_, err = e.p.Apply(e.ctx, spec)
	require.NoError(t, err)
	pvc = e.pvc("data-orbit-rmq-abc123-0")
	require.Equal(t, "50Gi", pvc.Spec.Resources.Requests.Storage().String())
}

func TestApplyNewTokenRollsPod(t *testing.T) {
	e := newEnv(t, testConfig())
	spec := testSpec("rmq-abc123")
	_, err := e.p.Apply(e.ctx, spec)
	require.NoError(t, err)
	before := e.sts("rmq-abc123").Spec.Template.Annotations

	spec.AdminToken, spec.Generation = "rotated", 2
	_, err = e.p.Apply(e.ctx, spec)
	require.NoError(t, err)
	sec := e.secret("orbit-rmq-abc123-admin")
	require.Equal(t, "rotated", string(sec.Data["admin-token"]))
	require.NotEqual(t, before, e.sts("rmq-abc123").Spec.Template.Annotations, "the pod template changes, so the node restarts with the new token")
}

func TestApplyKeepsServiceAllocations(t *testing.T) {
	cfg := testConfig()
	cfg.ServiceType = corev1.ServiceTypeLoadBalancer
	e := newEnv(t, cfg)
	spec := testSpec("rmq-abc123")
	_, err := e.p.Apply(e.ctx, spec)
	require.NoError(t, err)
	svc := e.svc("orbit-rmq-abc123")
	require.Len(t, svc.Spec.Ports, 1, "an exposed Service carries only the RocketMQ port")
	// What the API server would have allocated, plus an outdated hash.
	svc.Spec.ClusterIP, svc.Spec.ClusterIPs, svc.Spec.Ports[0].NodePort = "10.0.0.7", []string{"10.0.0.7"}, 31081
	svc.Annotations[kube.AnnotationSpecHash] = "old"
	require.NoError(t, e.cs.Tracker().Update(svcGVR, svc, ns, metav1.UpdateOptions{FieldManager: "test"}))

	_, err = e.p.Apply(e.ctx, spec)
	require.NoError(t, err)
	svc = e.svc("orbit-rmq-abc123")
	require.Equal(t, "10.0.0.7", svc.Spec.ClusterIP)
	require.Equal(t, int32(31081), svc.Spec.Ports[0].NodePort)
	require.NotEqual(t, "old", svc.Annotations[kube.AnnotationSpecHash])
}

func TestApplyChangesServiceType(t *testing.T) {
	e := newEnv(t, testConfig())
	spec := testSpec("rmq-abc123")
	_, err := e.p.Apply(e.ctx, spec)
	require.NoError(t, err)

	cfg := testConfig()
	cfg.ServiceType = corev1.ServiceTypeNodePort
	p, err := kube.NewWithClient(cfg, e.cs)
	require.NoError(t, err)
	e.cs.ClearActions()
	_, err = p.Apply(e.ctx, spec)
	require.NoError(t, err)
	require.Equal(t, []string{"delete services", "create services"}, writeActions(e.cs), "only the client Service changes")
	require.Equal(t, corev1.ServiceTypeNodePort, e.svc("orbit-rmq-abc123").Spec.Type)
}

func TestStopScalesToZero(t *testing.T) {
	e := newEnv(t, testConfig())
	spec := testSpec("rmq-abc123")
	_, err := e.p.Apply(e.ctx, spec)
	require.NoError(t, err)
	e.addClaim("rmq-abc123", 20)

	require.NoError(t, e.p.Stop(e.ctx, "rmq-abc123"))
	require.Equal(t, int32(0), *e.sts("rmq-abc123").Spec.Replicas)
	e.pvc("data-orbit-rmq-abc123-0") // Stop keeps the data
	obs, err := e.p.Observe(e.ctx, "rmq-abc123")
	require.NoError(t, err)
	require.Equal(t, provision.PhaseStopped, obs.Phase)
	require.NoError(t, e.p.Stop(e.ctx, "rmq-abc123"), "stopping twice is fine")

	// Apply starts it again.
	_, err = e.p.Apply(e.ctx, spec)
	require.NoError(t, err)
	require.Equal(t, int32(1), *e.sts("rmq-abc123").Spec.Replicas)

	require.NoError(t, e.p.Stop(e.ctx, "rmq-nothing"), "stopping an absent instance succeeds")
}

func TestObservePhases(t *testing.T) {
	cases := []struct {
		name       string
		generation int64
		replicas   int32
		status     appsv1.StatefulSetStatus
		phase      provision.Phase
	}{
		{"created", 1, 1, appsv1.StatefulSetStatus{}, provision.PhaseStarting},
		{"controller behind", 2, 1, appsv1.StatefulSetStatus{ObservedGeneration: 1, Replicas: 1, ReadyReplicas: 1, UpdatedReplicas: 1}, provision.PhaseStarting},
		{"rolling out", 2, 1, appsv1.StatefulSetStatus{ObservedGeneration: 2, Replicas: 1, ReadyReplicas: 1, UpdatedReplicas: 0}, provision.PhaseStarting},
		{"not ready", 2, 1, appsv1.StatefulSetStatus{ObservedGeneration: 2, Replicas: 1, UpdatedReplicas: 1}, provision.PhaseStarting},
		{"ready", 2, 1, appsv1.StatefulSetStatus{ObservedGeneration: 2, Replicas: 1, ReadyReplicas: 1, UpdatedReplicas: 1}, provision.PhaseRunning},
		{"stopping", 3, 0, appsv1.StatefulSetStatus{ObservedGeneration: 3, Replicas: 1}, provision.PhaseStopped},
		{"stopped", 3, 0, appsv1.StatefulSetStatus{ObservedGeneration: 3}, provision.PhaseStopped},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, testConfig())
			spec := testSpec("rmq-abc123")
			spec.Generation = 5
			_, err := e.p.Apply(e.ctx, spec)
			require.NoError(t, err)
			s := e.sts("rmq-abc123")
			s.Spec.Replicas = &c.replicas
			require.NoError(t, e.cs.Tracker().Update(stsGVR, s, ns, metav1.UpdateOptions{FieldManager: "test"}))
			e.setStatus("rmq-abc123", c.generation, c.status)

			obs, err := e.p.Observe(e.ctx, "rmq-abc123")
			require.NoError(t, err)
			require.Equal(t, c.phase, obs.Phase, obs.Reason)
			require.Equal(t, int64(5), obs.Generation)
			require.Equal(t, "orbit-rmq-abc123.orbit-instances.svc:8081", obs.Endpoint)
			require.Equal(t, "orbit-rmq-abc123-hl.orbit-instances.svc:9081", obs.AdminAddr)
			if c.phase == provision.PhaseStarting {
				require.NotEmpty(t, obs.Reason)
			}
		})
	}
	t.Run("absent", func(t *testing.T) {
		e := newEnv(t, testConfig())
		obs, err := e.p.Observe(e.ctx, "rmq-abc123")
		require.NoError(t, err)
		require.Equal(t, provision.Observed{Phase: provision.PhaseAbsent, Since: e.now}, obs)
	})
}

func TestObserveSince(t *testing.T) {
	e := newEnv(t, testConfig())
	t0 := e.now
	_, err := e.p.Apply(e.ctx, testSpec("rmq-abc123"))
	require.NoError(t, err)
	e.now = t0.Add(time.Minute)
	obs, err := e.p.Observe(e.ctx, "rmq-abc123")
	require.NoError(t, err)
	require.Equal(t, provision.PhaseStarting, obs.Phase)
	require.Equal(t, t0, obs.Since, "same phase: Since stays")

	e.setStatus("rmq-abc123", 0, appsv1.StatefulSetStatus{Replicas: 1, ReadyReplicas: 1, UpdatedReplicas: 1})
	e.now = t0.Add(2 * time.Minute)
	obs, err = e.p.Observe(e.ctx, "rmq-abc123")
	require.NoError(t, err)
	require.Equal(t, provision.PhaseRunning, obs.Phase)
	require.Equal(t, e.now, obs.Since)
}

func TestObserveEndpoint(t *testing.T) {
	t.Run("template", func(t *testing.T) {
		cfg := testConfig()
		cfg.EndpointTemplate = "{id}.mq.example.com:8081"
		e := newEnv(t, cfg)
		obs, err := e.p.Apply(e.ctx, testSpec("rmq-abc123"))
		require.NoError(t, err)
		require.Equal(t, "rmq-abc123.mq.example.com:8081", obs.Endpoint)
		for _, v := range e.sts("rmq-abc123").Spec.Template.Spec.Containers[0].Env {
			if v.Name == "ORBIT_NODE_ADVERTISE" {
				require.Equal(t, obs.Endpoint, v.Value)
				return
			}
		}
		t.Fatal("the node is not told to advertise the external address")
	})
	t.Run("load balancer", func(t *testing.T) {
		cfg := testConfig()
		cfg.ServiceType = corev1.ServiceTypeLoadBalancer
		e := newEnv(t, cfg)
		obs, err := e.p.Apply(e.ctx, testSpec("rmq-abc123"))
		require.NoError(t, err)
		require.Empty(t, obs.Endpoint, "no address before the load balancer has one")

		svc := e.svc("orbit-rmq-abc123")
		svc.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: "203.0.113.10"}}
		require.NoError(t, e.cs.Tracker().Update(svcGVR, svc, ns, metav1.UpdateOptions{FieldManager: "test"}))
		obs, err = e.p.Observe(e.ctx, "rmq-abc123")
		require.NoError(t, err)
		require.Equal(t, "203.0.113.10:8081", obs.Endpoint)
	})
}

func TestDeleteRemovesEverything(t *testing.T) {
	e := newEnv(t, testConfig())
	for _, id := range []string{"rmq-abc123", "rmq-keep"} {
		_, err := e.p.Apply(e.ctx, testSpec(id))
		require.NoError(t, err)
		e.addClaim(id, 20)
	}

	require.NoError(t, e.p.Delete(e.ctx, "rmq-abc123"))
	var left []string
	for _, k := range []struct {
		gvr        schema.GroupVersionResource
		kind, abbr string
	}{{stsGVR, "StatefulSet", "sts"}, {svcGVR, "Service", "svc"}, {secretGVR, "Secret", "secret"}, {pvcGVR, "PersistentVolumeClaim", "pvc"}} {
		for _, n := range e.names(k.gvr, k.kind) {
			left = append(left, k.abbr+"/"+n)
		}
	}
	require.ElementsMatch(t, []string{
		"sts/orbit-rmq-keep", "svc/orbit-rmq-keep", "svc/orbit-rmq-keep-hl",
		"secret/orbit-rmq-keep-admin", "pvc/data-orbit-rmq-keep-0",
	}, left, "only the other instance's objects remain")

	obs, err := e.p.Observe(e.ctx, "rmq-abc123")
	require.NoError(t, err)
	require.Equal(t, provision.PhaseAbsent, obs.Phase)
	require.NoError(t, e.p.Delete(e.ctx, "rmq-abc123"), "deleting an absent instance succeeds")
}

func TestListFindsInstances(t *testing.T) {
	foreign := &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{
		Name: "postgres", Namespace: ns, Labels: map[string]string{"app.kubernetes.io/name": "postgres"},
	}}
	e := newEnv(t, testConfig(), foreign)
	list, err := e.p.List(e.ctx)
	require.NoError(t, err)
	require.Empty(t, list)

	for _, id := range []string{"rmq-a", "rmq-b", "rmq-c"} {
		spec := testSpec(id)
		spec.Generation = 4
		_, err := e.p.Apply(e.ctx, spec)
		require.NoError(t, err)
	}
	e.setStatus("rmq-a", 0, appsv1.StatefulSetStatus{Replicas: 1, ReadyReplicas: 1, UpdatedReplicas: 1})
	require.NoError(t, e.p.Stop(e.ctx, "rmq-c"))

	list, err = e.p.List(e.ctx)
	require.NoError(t, err)
	require.Len(t, list, 3)
	require.Equal(t, provision.PhaseRunning, list["rmq-a"].Phase)
	require.Equal(t, provision.PhaseStarting, list["rmq-b"].Phase)
	require.Equal(t, provision.PhaseStopped, list["rmq-c"].Phase)
	require.Equal(t, int64(4), list["rmq-b"].Generation)
	require.Equal(t, "orbit-rmq-a.orbit-instances.svc:8081", list["rmq-a"].Endpoint)
}

func TestObjectName(t *testing.T) {
	require.Equal(t, "orbit-rmq-abc123", kube.ObjectName("rmq-abc123"))
	require.Equal(t, "orbit-0b7c2a4e-1f2d-4c3b-9a8e-7d6c5b4a3f21", kube.ObjectName("0b7c2a4e-1f2d-4c3b-9a8e-7d6c5b4a3f21"))
	// IDs that are not DNS labels get a sanitised name with a hash, so two
	// IDs never share a name.
	a, b := kube.ObjectName("Rmq_ABC"), kube.ObjectName("rmq-abc")
	require.NotEqual(t, a, b)
	require.Regexp(t, `^orbit-rmq-abc-[0-9a-f]{8}$`, a)
	long := kube.ObjectName("x123456789012345678901234567890123456789012345678901234567890")
	require.LessOrEqual(t, len(long), 52)
	require.Regexp(t, `^[a-z]([-a-z0-9]*[a-z0-9])?$`, long)
}

func TestInvalidInstanceID(t *testing.T) {
	e := newEnv(t, testConfig())
	_, err := e.p.Apply(e.ctx, testSpec("bad id/with slash"))
	require.Error(t, err)
	_, err = e.p.Observe(e.ctx, "")
	require.Error(t, err)
	require.Empty(t, e.cs.Actions())
}

func TestNewConfig(t *testing.T) {
	_, err := kube.NewWithClient(kube.Config{Image: "x"}, fake.NewClientset())
	require.ErrorContains(t, err, "Namespace")
	_, err = kube.NewWithClient(kube.Config{Namespace: "x"}, fake.NewClientset())
	require.ErrorContains(t, err, "Image")
	_, err = kube.NewWithClient(kube.Config{Namespace: "x", Image: "x", ServiceType: "ExternalName"}, fake.NewClientset())
	require.ErrorContains(t, err, "ServiceType")

	kubeconfig := filepath.Join(t.TempDir(), "config")
	require.NoError(t, os.WriteFile(kubeconfig, []byte(`apiVersion: v1
kind: Config
clusters:
- name: test
  cluster: {server: "https://127.0.0.1:6443"}
users:
- name: test
  user: {token: "t"}
contexts:
- name: test
  context: {cluster: test, user: test, namespace: orbit}
current-context: test
`), 0o600))
	cfg := testConfig()
	cfg.Kubeconfig = kubeconfig
	p, err := kube.New(cfg)
	require.NoError(t, err, "a kubeconfig builds a client without contacting the cluster")
	require.NotNil(t, p)

	cfg.Kubeconfig = filepath.Join(t.TempDir(), "missing")
	_, err = kube.New(cfg)
	require.Error(t, err)

	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	cfg.Kubeconfig = ""
	_, err = kube.New(cfg)
	require.ErrorContains(t, err, "in-cluster", "outside a cluster without a kubeconfig")
}
