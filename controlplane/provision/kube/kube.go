package kube

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/orbitmq/orbit/controlplane/provision"
)

// Config configures the Kubernetes provisioner.
type Config struct {
	// Namespace holds every instance's objects (required).
	Namespace string
	// Image runs the nodes, e.g. DefaultImage(version) (required).
	Image            string
	ImagePullPolicy  corev1.PullPolicy // empty: the cluster's default
	ImagePullSecrets []string
	// Kubeconfig is the path of a kubeconfig file; empty: the in-cluster
	// service account.
	Kubeconfig string
	// StorageClass of the data volumes; empty: the cluster's default.
	StorageClass string
	// ServiceType of the client Service; empty: ClusterIP. With
	// LoadBalancer or NodePort it carries only the RocketMQ port.
	ServiceType corev1.ServiceType
	// EndpointTemplate is the address clients are given, with {id},
	// {name} (the object name) and {namespace} filled in, e.g.
	// "{id}.mq.example.com:8081"; the node advertises it too. Empty: a
	// load balancer's address when there is one, else the client
	// Service's cluster DNS name.
	EndpointTemplate string
	// Resources sizes a node; nil: DefaultResources.
	Resources func(provision.NodeSpec) corev1.ResourceRequirements
	// Now is the clock for Observed.Since; nil: time.Now.
	Now func() time.Time
}

// DefaultImage is the published node image of an Orbit version.
func DefaultImage(version string) string { return "ghcr.io/orbitmq/orbit:" + version }

// fieldManager names the provisioner in the objects' managed fields.
const fieldManager = "orbit"

// Provisioner runs instances as StatefulSets. It implements
// provision.Provisioner.
type Provisioner struct {
	cfg Config
	cs  kubernetes.Interface

	mu    sync.Mutex
	since map[string]phaseSince // when each instance's phase last changed, as seen here
}

type phaseSince struct {
	phase provision.Phase
	at    time.Time
}

var _ provision.Provisioner = (*Provisioner)(nil)

// New builds a clientset from cfg.Kubeconfig, or from the in-cluster
// service account when it is empty, and returns a provisioner using it.
func New(cfg Config) (*Provisioner, error) {
	var (
		rc  *rest.Config
		err error
	)
	if cfg.Kubeconfig != "" {
		rc, err = clientcmd.BuildConfigFromFlags("", cfg.Kubeconfig)
	} else {
		rc, err = rest.InClusterConfig()
	}
	if err != nil {
		return nil, fmt.Errorf("kube: client configuration: %w", err)
	}
	rc.UserAgent = "orbit-provisioner"
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return nil, fmt.Errorf("kube: clientset: %w", err)
	}
	return NewWithClient(cfg, cs)
}

// NewWithClient returns a provisioner using cs (a fake clientset in tests).
func NewWithClient(cfg Config, cs kubernetes.Interface) (*Provisioner, error) {
	if cfg.Namespace == "" {
		return nil, errors.New("kube: Namespace is required")
	}
	if cfg.Image == "" {
		return nil, errors.New("kube: Image is required")
	}
	switch cfg.ServiceType {
	case "", corev1.ServiceTypeClusterIP, corev1.ServiceTypeNodePort, corev1.ServiceTypeLoadBalancer:
	default:
		return nil, fmt.Errorf("kube: unsupported ServiceType %q", cfg.ServiceType)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Provisioner{cfg: cfg, cs: cs, since: map[string]phaseSince{}}, nil
}

// Apply creates or updates the instance's Secret, Services and StatefulSet
// (with one replica, so a stopped instance starts) and grows its data
// volume when StorageGB grew. Unchanged objects are not written.
func (p *Provisioner) Apply(ctx context.Context, spec provision.NodeSpec) (provision.Observed, error) {
	objs, err := p.cfg.Render(spec)
	if err != nil {
		return provision.Observed{}, err
	}
	if err := p.applySecret(ctx, objs.Secret); err != nil {
		return provision.Observed{}, err
	}
	for _, svc := range []*corev1.Service{objs.Headless, objs.Client} {
		if err := p.applyService(ctx, svc); err != nil {
			return provision.Observed{}, err
		}
	}
	if err := p.applyStatefulSet(ctx, objs.StatefulSet); err != nil {
		return provision.Observed{}, err
	}
	if err := p.growVolumes(ctx, spec); err != nil {
		return provision.Observed{}, err
	}
	return p.Observe(ctx, spec.InstanceID)
}

func unchanged(existing, desired metav1.Object) bool {
	return existing.GetAnnotations()[AnnotationSpecHash] == desired.GetAnnotations()[AnnotationSpecHash]
}

// adopt sets the labels and annotations of desired on existing, keeping
// those other tools added (and everything else the server keeps in the
// metadata: finalizers, owner references, ...).
func adopt(existing, desired metav1.Object) {
	existing.SetLabels(merge(existing.GetLabels(), desired.GetLabels()))
	existing.SetAnnotations(merge(existing.GetAnnotations(), desired.GetAnnotations()))
}

func merge(base, over map[string]string) map[string]string {
	out := make(map[string]string, len(base)+len(over))
	for k, v := range base {
		out[k] = v
	}
	for k, v := range over {
		out[k] = v
	}
	return out
}

func (p *Provisioner) applySecret(ctx context.Context, want *corev1.Secret) error {
	api := p.cs.CoreV1().Secrets(p.cfg.Namespace)
	got, err := api.Get(ctx, want.Name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		_, err = api.Create(ctx, want, metav1.CreateOptions{FieldManager: fieldManager})
	case err == nil && !unchanged(got, want):
		adopt(got, want)
		got.Data, got.StringData = want.Data, nil
		_, err = api.Update(ctx, got, metav1.UpdateOptions{FieldManager: fieldManager})
	}
	if err != nil {
		return fmt.Errorf("kube: apply secret %s: %w", want.Name, err)
	}
	return nil
}

func (p *Provisioner) applyService(ctx context.Context, want *corev1.Service) error {
	api := p.cs.CoreV1().Services(p.cfg.Namespace)
	got, err := api.Get(ctx, want.Name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		_, err = api.Create(ctx, want, metav1.CreateOptions{FieldManager: fieldManager})
	case err == nil && svcType(got) != svcType(want):
		// Changing a Service's type in place means clearing the fields of
		// the old type; creating it anew is simpler and as disruptive.
		if err = api.Delete(ctx, got.Name, metav1.DeleteOptions{}); err == nil {
			_, err = api.Create(ctx, want, metav1.CreateOptions{FieldManager: fieldManager})
		}
	case err == nil && !unchanged(got, want):
		adopt(got, want)
		// Keep what the cluster allocated (cluster IPs, node ports).
		ports := want.Spec.Ports
		for i := range ports {
			for _, old := range got.Spec.Ports {
				if old.Name == ports[i].Name {
					ports[i].NodePort = old.NodePort
				}
			}
		}
		got.Spec.Ports = ports
		got.Spec.Selector = want.Spec.Selector
		got.Spec.PublishNotReadyAddresses = want.Spec.PublishNotReadyAddresses
		_, err = api.Update(ctx, got, metav1.UpdateOptions{FieldManager: fieldManager})
	}
	if err != nil {
		return fmt.Errorf("kube: apply service %s: %w", want.Name, err)
	}
	return nil
}

func svcType(s *corev1.Service) corev1.ServiceType {
	if s.Spec.Type == "" {
		return corev1.ServiceTypeClusterIP // the API's default
	}
	return s.Spec.Type
}

func (p *Provisioner) applyStatefulSet(ctx context.Context, want *appsv1.StatefulSet) error {
	api := p.cs.AppsV1().StatefulSets(p.cfg.Namespace)
	got, err := api.Get(ctx, want.Name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		_, err = api.Create(ctx, want, metav1.CreateOptions{FieldManager: fieldManager})
	case err == nil && got.DeletionTimestamp != nil:
		err = errors.New("it is being deleted")
	case err == nil && (!unchanged(got, want) || replicas(got) != replicas(want)):
		adopt(got, want)
		// Only replicas, the pod template, the update strategy and the
		// claim retention policy of a StatefulSet may change; keep the rest.
		got.Spec.Replicas = want.Spec.Replicas
		got.Spec.Template = want.Spec.Template
		got.Spec.UpdateStrategy = want.Spec.UpdateStrategy
		got.Spec.PersistentVolumeClaimRetentionPolicy = want.Spec.PersistentVolumeClaimRetentionPolicy
		_, err = api.Update(ctx, got, metav1.UpdateOptions{FieldManager: fieldManager})
	}
	if err != nil {
		return fmt.Errorf("kube: apply statefulset %s: %w", want.Name, err)
	}
	return nil
}

// growVolumes raises the storage request of the instance's claims to
// StorageGB (claims can grow, never shrink; the storage class must allow
// expansion). The claim template of the StatefulSet cannot change, so this
// is how a bigger spec reaches an existing volume.
func (p *Provisioner) growVolumes(ctx context.Context, spec provision.NodeSpec) error {
	api := p.cs.CoreV1().PersistentVolumeClaims(p.cfg.Namespace)
	list, err := api.List(ctx, metav1.ListOptions{LabelSelector: instanceSelector(spec.InstanceID)})
	if err != nil {
		return fmt.Errorf("kube: list volumes of %s: %w", spec.InstanceID, err)
	}
	want := storageQuantity(spec.StorageGB)
	for i := range list.Items {
		pvc := &list.Items[i]
		cur := pvc.Spec.Resources.Requests[corev1.ResourceStorage]
		if pvc.DeletionTimestamp != nil || cur.Cmp(want) >= 0 {
			continue
		}
		if pvc.Spec.Resources.Requests == nil {
			pvc.Spec.Resources.Requests = corev1.ResourceList{}
		}
		pvc.Spec.Resources.Requests[corev1.ResourceStorage] = want
		if _, err := api.Update(ctx, pvc, metav1.UpdateOptions{FieldManager: fieldManager}); err != nil {
			return fmt.Errorf("kube: grow volume %s: %w", pvc.Name, err)
		}
	}
	return nil
}

// Stop scales the instance's StatefulSet to zero replicas; its volume and
// everything else stay. Stopping an absent instance succeeds, as it does
// with the local provisioner: nothing runs.
func (p *Provisioner) Stop(ctx context.Context, instanceID string) error {
	if err := validID(instanceID); err != nil {
		return err
	}
	_, err := p.cs.AppsV1().StatefulSets(p.cfg.Namespace).Patch(ctx, ObjectName(instanceID),
		types.MergePatchType, []byte(`{"spec":{"replicas":0}}`), metav1.PatchOptions{FieldManager: fieldManager})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("kube: stop %s: %w", instanceID, err)
	}
	return nil
}

// Delete removes the instance's StatefulSet, Services, Secret and data
// volumes. Deleting an absent instance succeeds.
func (p *Provisioner) Delete(ctx context.Context, instanceID string) error {
	if err := validID(instanceID); err != nil {
		return err
	}
	ns := p.cfg.Namespace
	bg := metav1.DeletePropagationBackground
	opts := metav1.DeleteOptions{PropagationPolicy: &bg}
	steps := []struct {
		what string
		del  func() error
	}{
		{"statefulset", func() error {
			return p.cs.AppsV1().StatefulSets(ns).Delete(ctx, ObjectName(instanceID), opts)
		}},
		{"service", func() error { return p.cs.CoreV1().Services(ns).Delete(ctx, ObjectName(instanceID), opts) }},
		{"service", func() error { return p.cs.CoreV1().Services(ns).Delete(ctx, headlessName(instanceID), opts) }},
		{"secret", func() error { return p.cs.CoreV1().Secrets(ns).Delete(ctx, secretName(instanceID), opts) }},
	}
	for _, s := range steps {
		if err := s.del(); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("kube: delete %s of %s: %w", s.what, instanceID, err)
		}
	}
	// Claims are found by label: the StatefulSet controller copies the
	// claim template's labels onto every claim it creates. A claim still
	// mounted by a terminating pod is removed once the pod is gone.
	pvcs := p.cs.CoreV1().PersistentVolumeClaims(ns)
	list, err := pvcs.List(ctx, metav1.ListOptions{LabelSelector: instanceSelector(instanceID)})
	if err != nil {
		return fmt.Errorf("kube: list volumes of %s: %w", instanceID, err)
	}
	for _, pvc := range list.Items {
		if err := pvcs.Delete(ctx, pvc.Name, opts); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("kube: delete volume %s: %w", pvc.Name, err)
		}
	}
	p.mu.Lock()
	delete(p.since, instanceID)
	p.mu.Unlock()
	return nil
}

// Observe reports the instance's state from its StatefulSet's status and
// its client Service.
func (p *Provisioner) Observe(ctx context.Context, instanceID string) (provision.Observed, error) {
	if err := validID(instanceID); err != nil {
		return provision.Observed{}, err
	}
	sts, err := p.cs.AppsV1().StatefulSets(p.cfg.Namespace).Get(ctx, ObjectName(instanceID), metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return p.stamp(instanceID, provision.Observed{Phase: provision.PhaseAbsent}), nil
	}
	if err != nil {
		return provision.Observed{}, fmt.Errorf("kube: observe %s: %w", instanceID, err)
	}
	svc, err := p.cs.CoreV1().Services(p.cfg.Namespace).Get(ctx, ObjectName(instanceID), metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		svc = nil
	} else if err != nil {
		return provision.Observed{}, fmt.Errorf("kube: observe %s: %w", instanceID, err)
	}
	return p.stamp(instanceID, p.observe(instanceID, sts, svc)), nil
}

// List reports every instance that has a StatefulSet in the namespace.
func (p *Provisioner) List(ctx context.Context) (map[string]provision.Observed, error) {
	ns := p.cfg.Namespace
	sets, err := p.cs.AppsV1().StatefulSets(ns).List(ctx, metav1.ListOptions{LabelSelector: ownedSelector()})
	if err != nil {
		return nil, fmt.Errorf("kube: list statefulsets: %w", err)
	}
	svcs, err := p.cs.CoreV1().Services(ns).List(ctx, metav1.ListOptions{LabelSelector: ownedSelector()})
	if err != nil {
		return nil, fmt.Errorf("kube: list services: %w", err)
	}
	byName := make(map[string]*corev1.Service, len(svcs.Items))
	for i := range svcs.Items {
		byName[svcs.Items[i].Name] = &svcs.Items[i]
	}
	out := make(map[string]provision.Observed, len(sets.Items))
	for i := range sets.Items {
		sts := &sets.Items[i]
		id := sts.Labels[LabelInstance]
		if validID(id) != nil || sts.Name != ObjectName(id) {
			continue // not one of ours after all
		}
		out[id] = p.stamp(id, p.observe(id, sts, byName[sts.Name]))
	}
	return out, nil
}

func replicas(sts *appsv1.StatefulSet) int32 {
	if sts.Spec.Replicas == nil {
		return 1 // the API's default
	}
	return *sts.Spec.Replicas
}

// observe maps a StatefulSet (and the client Service, nil if absent) to
// what the reconciler needs. Generation is the one last applied: while a
// change rolls out the phase is STARTING.
func (p *Provisioner) observe(id string, sts *appsv1.StatefulSet, svc *corev1.Service) provision.Observed {
	o := provision.Observed{AdminAddr: p.cfg.AdminAddr(id)}
	o.Generation, _ = strconv.ParseInt(sts.Annotations[AnnotationGeneration], 10, 64)
	if svc != nil {
		o.Endpoint = p.endpoint(id, svc)
	}
	st := sts.Status
	want := replicas(sts)
	switch {
	case sts.DeletionTimestamp != nil:
		o.Phase, o.Reason = provision.PhaseStopped, "being deleted"
	case want == 0:
		o.Phase = provision.PhaseStopped
		if st.Replicas > 0 {
			o.Reason = "pod terminating"
		}
	case st.ObservedGeneration < sts.Generation:
		o.Phase, o.Reason = provision.PhaseStarting, "waiting for the StatefulSet controller"
	case st.UpdatedReplicas < want:
		o.Phase, o.Reason = provision.PhaseStarting, fmt.Sprintf("rolling out (%d of %d pods updated)", st.UpdatedReplicas, want)
	case st.ReadyReplicas < want:
		o.Phase, o.Reason = provision.PhaseStarting, "waiting for the node to become ready"
	default:
		o.Phase = provision.PhaseRunning
	}
	return o
}

func (p *Provisioner) endpoint(id string, svc *corev1.Service) string {
	if p.cfg.EndpointTemplate == "" && svc.Spec.Type == corev1.ServiceTypeLoadBalancer {
		for _, in := range svc.Status.LoadBalancer.Ingress {
			host := in.Hostname
			if host == "" {
				host = in.IP
			}
			if host != "" {
				return net.JoinHostPort(host, strconv.Itoa(PortGRPC))
			}
		}
		return "" // not allocated yet
	}
	return p.cfg.Endpoint(id)
}

// stamp sets o.Since to when this provisioner first saw the instance in
// its current phase (the cluster keeps no such time for a StatefulSet).
func (p *Provisioner) stamp(id string, o provision.Observed) provision.Observed {
	p.mu.Lock()
	defer p.mu.Unlock()
	ps, ok := p.since[id]
	if !ok || ps.phase != o.Phase {
		ps = phaseSince{phase: o.Phase, at: p.cfg.Now()}
		if o.Phase == provision.PhaseAbsent {
			delete(p.since, id)
		} else {
			p.since[id] = ps
		}
	}
	o.Since = ps.at
	return o
}
