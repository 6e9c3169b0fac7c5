package kube

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"regexp"
	"strconv"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/orbitmq/orbit/controlplane/provision"
)

// Labels and annotations on every object the provisioner owns.
const (
	LabelName      = "app.kubernetes.io/name"
	LabelInstance  = "app.kubernetes.io/instance"
	LabelManagedBy = "app.kubernetes.io/managed-by"

	nameValue      = "orbit-node"
	managedByValue = "orbit"

	// AnnotationGeneration carries NodeSpec.Generation on the StatefulSet.
	AnnotationGeneration = "orbitmq.io/generation"
	// AnnotationSpecHash is a digest of the rendered object; Apply leaves an
	// object alone when it is unchanged, so applying twice writes nothing.
	AnnotationSpecHash = "orbitmq.io/spec-hash"
	// annotationTokenHash on the pod template rolls the pod when the admin
	// token changes (the node reads it from the environment at start).
	annotationTokenHash = "orbitmq.io/admin-token-hash"
)

// Ports of the node inside the pod and on its Services.
const (
	PortGRPC  = 8081 // RocketMQ 5 gRPC clients
	PortAdmin = 9081 // admin gRPC service (control plane only)
	PortHTTP  = 9082 // /metrics and /healthz

	dataDir       = "/data"
	dataVolume    = "data"
	tmpVolume     = "tmp"
	secretKey     = "admin-token"
	containerName = "node"
	nodeUID       = 65532 // the distroless "nonroot" user
)

// Objects are the Kubernetes objects of one instance.
type Objects struct {
	Secret      *corev1.Secret
	Headless    *corev1.Service // governs the StatefulSet; admin and metrics
	Client      *corev1.Service // RocketMQ clients
	StatefulSet *appsv1.StatefulSet
}

// List returns the objects in the order they are applied.
func (o Objects) List() []any { return []any{o.Secret, o.Headless, o.Client, o.StatefulSet} }

var labelValueRE = regexp.MustCompile(`^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$`)

// validID reports whether id can be a label value (≤ 63 characters,
// alphanumerics, '-', '_', '.', starting and ending alphanumeric).
func validID(id string) error {
	if id == "" || len(id) > 63 || !labelValueRE.MatchString(id) {
		return fmt.Errorf("kube: instance ID %q is not a valid Kubernetes label value", id)
	}
	return nil
}

// maxNameLen keeps the StatefulSet's controller-revision-hash label
// (name + "-" + 10 characters) within 63 characters.
const maxNameLen = 52

// ObjectName is the name of the StatefulSet, the client Service and the
// Secret prefix of an instance: "orbit-" + the ID when that is a DNS-1035
// label, otherwise a sanitised, shortened form with a hash of the ID.
func ObjectName(id string) string {
	name := "orbit-" + id
	var b strings.Builder
	for _, r := range strings.ToLower(id) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		} else {
			b.WriteByte('-')
		}
	}
	clean := "orbit-" + strings.Trim(b.String(), "-")
	if clean == name && len(name) <= maxNameLen {
		return name
	}
	h := fnv.New32a()
	_, _ = h.Write([]byte(id))
	suffix := fmt.Sprintf("-%08x", h.Sum32())
	if len(clean) > maxNameLen-len(suffix) {
		clean = clean[:maxNameLen-len(suffix)]
	}
	return strings.TrimRight(clean, "-") + suffix
}

func headlessName(id string) string { return ObjectName(id) + "-hl" }
func secretName(id string) string   { return ObjectName(id) + "-admin" }

// pvcName is the claim the StatefulSet controller creates for its pod 0.
func pvcName(id string) string { return dataVolume + "-" + ObjectName(id) + "-0" }

func selectorLabels(id string) map[string]string {
	return map[string]string{LabelName: nameValue, LabelInstance: id}
}

func labels(id string) map[string]string {
	l := selectorLabels(id)
	l[LabelManagedBy] = managedByValue
	return l
}

// ownedSelector selects every object the provisioner owns.
func ownedSelector() string {
	return LabelName + "=" + nameValue + "," + LabelManagedBy + "=" + managedByValue
}

// instanceSelector selects the objects of one instance.
func instanceSelector(id string) string { return ownedSelector() + "," + LabelInstance + "=" + id }

// DefaultResources sizes a node by its spec's peak TPS: a quarter of a core
// per 1,000 TPS (at least 250m) and 512 MiB plus 128 MiB per 1,000 TPS,
// rounded up to 256 MiB; limits are twice the requests.
func DefaultResources(spec provision.NodeSpec) corev1.ResourceRequirements {
	tps := max(spec.MaxTPS, 0)
	cpu := max(int64(tps)/4, 250)
	mem := int64(512 + tps*128/1000)
	mem = (mem + 255) / 256 * 256
	return corev1.ResourceRequirements{
		Requests: corev1.ResourceList{
			corev1.ResourceCPU:    *resource.NewMilliQuantity(cpu, resource.DecimalSI),
			corev1.ResourceMemory: *resource.NewQuantity(mem<<20, resource.BinarySI),
		},
		Limits: corev1.ResourceList{
			corev1.ResourceCPU:    *resource.NewMilliQuantity(2*cpu, resource.DecimalSI),
			corev1.ResourceMemory: *resource.NewQuantity(2*mem<<20, resource.BinarySI),
		},
	}
}

func storageQuantity(gb int) resource.Quantity {
	return *resource.NewQuantity(int64(max(gb, 1))<<30, resource.BinarySI)
}

// Endpoint is where RocketMQ clients reach the instance when no load
// balancer address is known: EndpointTemplate with its placeholders filled
// in, or the client Service's cluster DNS name.
func (c Config) Endpoint(id string) string {
	if c.EndpointTemplate != "" {
		return strings.NewReplacer("{id}", id, "{name}", ObjectName(id), "{namespace}", c.Namespace).Replace(c.EndpointTemplate)
	}
	return fmt.Sprintf("%s.%s.svc:%d", ObjectName(id), c.Namespace, PortGRPC)
}

// AdminAddr is the node's admin service, always through the in-cluster
// headless Service (never exposed outside the cluster).
func (c Config) AdminAddr(id string) string {
	return fmt.Sprintf("%s.%s.svc:%d", headlessName(id), c.Namespace, PortAdmin)
}

// Render builds the objects of an instance. It does no I/O.
func (c Config) Render(spec provision.NodeSpec) (Objects, error) {
	if err := validID(spec.InstanceID); err != nil {
		return Objects{}, err
	}
	id, ns := spec.InstanceID, c.Namespace
	name := ObjectName(id)
	meta := func(n string) metav1.ObjectMeta {
		return metav1.ObjectMeta{Name: n, Namespace: ns, Labels: labels(id)}
	}

	secret := &corev1.Secret{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: meta(secretName(id)),
		Type:       corev1.SecretTypeOpaque,
		Data:       map[string][]byte{secretKey: []byte(spec.AdminToken)},
	}

	port := func(n string, p int32) corev1.ServicePort {
		return corev1.ServicePort{Name: n, Port: p, TargetPort: intstr.FromString(n), Protocol: corev1.ProtocolTCP}
	}
	allPorts := []corev1.ServicePort{port("grpc", PortGRPC), port("admin", PortAdmin), port("http", PortHTTP)}
	headless := &corev1.Service{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: meta(headlessName(id)),
		Spec: corev1.ServiceSpec{
			Type:                     corev1.ServiceTypeClusterIP,
			ClusterIP:                corev1.ClusterIPNone,
			Selector:                 selectorLabels(id),
			Ports:                    allPorts,
			PublishNotReadyAddresses: true,
		},
	}
	svcType := c.ServiceType
	if svcType == "" {
		svcType = corev1.ServiceTypeClusterIP
	}
	clientPorts := allPorts
	if svcType != corev1.ServiceTypeClusterIP {
		// Exposed outside the cluster: only the RocketMQ port.
		clientPorts = []corev1.ServicePort{port("grpc", PortGRPC)}
	}
	client := &corev1.Service{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: meta(name),
		Spec: corev1.ServiceSpec{
			Type:     svcType,
			Selector: selectorLabels(id),
			Ports:    clientPorts,
		},
	}

	flush := spec.Flush
	if flush == "" {
		flush = "sync"
	}
	env := []corev1.EnvVar{
		{Name: "ORBIT_NODE_DATA_DIR", Value: dataDir},
		{Name: "ORBIT_NODE_GRPC_ADDR", Value: fmt.Sprintf("0.0.0.0:%d", PortGRPC)},
		{Name: "ORBIT_NODE_ADMIN_ADDR", Value: fmt.Sprintf("0.0.0.0:%d", PortAdmin)},
		{Name: "ORBIT_NODE_HTTP_ADDR", Value: fmt.Sprintf("0.0.0.0:%d", PortHTTP)},
		{Name: "ORBIT_NODE_FLUSH", Value: flush},
		{Name: "ORBIT_NODE_RETENTION_HOURS", Value: strconv.Itoa(spec.RetentionHours)},
		// The spec's limits, enforced by the node (0 = unlimited).
		{Name: "ORBIT_NODE_MAX_TOPICS", Value: strconv.Itoa(max(spec.MaxTopics, 0))},
		{Name: "ORBIT_NODE_MAX_GROUPS", Value: strconv.Itoa(max(spec.MaxGroups, 0))},
		{Name: "ORBIT_NODE_MAX_TPS", Value: strconv.Itoa(max(spec.MaxTPS, 0))},
		{Name: "ORBIT_NODE_ADMIN_TOKEN", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: secretName(id)},
			Key:                  secretKey,
		}}},
	}
	if c.EndpointTemplate != "" {
		env = append(env, corev1.EnvVar{Name: "ORBIT_NODE_ADVERTISE", Value: c.Endpoint(id)})
	}
	resources := DefaultResources(spec)
	if c.Resources != nil {
		resources = c.Resources(spec)
	}
	healthz := corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromString("http")}}
	var pullSecrets []corev1.LocalObjectReference
	for _, s := range c.ImagePullSecrets {
		pullSecrets = append(pullSecrets, corev1.LocalObjectReference{Name: s})
	}
	tokenSum := sha256.Sum256([]byte(spec.AdminToken))
	var storageClass *string
	if c.StorageClass != "" {
		storageClass = &c.StorageClass
	}

	sts := &appsv1.StatefulSet{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "StatefulSet"},
		ObjectMeta: meta(name),
		Spec: appsv1.StatefulSetSpec{
			Replicas:            ptr(int32(1)),
			ServiceName:         headlessName(id),
			Selector:            &metav1.LabelSelector{MatchLabels: selectorLabels(id)},
			PodManagementPolicy: appsv1.OrderedReadyPodManagement,
			UpdateStrategy:      appsv1.StatefulSetUpdateStrategy{Type: appsv1.RollingUpdateStatefulSetStrategyType},
			PersistentVolumeClaimRetentionPolicy: &appsv1.StatefulSetPersistentVolumeClaimRetentionPolicy{
				// Delete removes the claims itself; Stop (scale to 0) keeps them.
				WhenDeleted: appsv1.RetainPersistentVolumeClaimRetentionPolicyType,
				WhenScaled:  appsv1.RetainPersistentVolumeClaimRetentionPolicyType,
			},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{
					Labels: labels(id),
					Annotations: map[string]string{
						annotationTokenHash:    hex.EncodeToString(tokenSum[:8]),
						"prometheus.io/scrape": "true",
						"prometheus.io/port":   strconv.Itoa(PortHTTP),
						"prometheus.io/path":   "/metrics",
					},
				},
				Spec: corev1.PodSpec{
					AutomountServiceAccountToken:  ptr(false),
					EnableServiceLinks:            ptr(false),
					TerminationGracePeriodSeconds: ptr(int64(30)),
					ImagePullSecrets:              pullSecrets,
					SecurityContext: &corev1.PodSecurityContext{
						RunAsNonRoot:   ptr(true),
						RunAsUser:      ptr(int64(nodeUID)),
						RunAsGroup:     ptr(int64(nodeUID)),
						FSGroup:        ptr(int64(nodeUID)),
						SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
					},
					Containers: []corev1.Container{{
						Name:            containerName,
						Image:           c.Image,
						ImagePullPolicy: c.ImagePullPolicy,
						Args:            []string{"node"},
						Env:             env,
						Ports: []corev1.ContainerPort{
							{Name: "grpc", ContainerPort: PortGRPC, Protocol: corev1.ProtocolTCP},
							{Name: "admin", ContainerPort: PortAdmin, Protocol: corev1.ProtocolTCP},
							{Name: "http", ContainerPort: PortHTTP, Protocol: corev1.ProtocolTCP},
						},
						Resources: resources,
						// Opening a large store can take a while: the startup
						// probe allows 5 minutes before liveness takes over.
						StartupProbe:   &corev1.Probe{ProbeHandler: healthz, PeriodSeconds: 5, FailureThreshold: 60},
						ReadinessProbe: &corev1.Probe{ProbeHandler: healthz, PeriodSeconds: 5, FailureThreshold: 3},
						LivenessProbe:  &corev1.Probe{ProbeHandler: healthz, PeriodSeconds: 10, TimeoutSeconds: 5, FailureThreshold: 6},
						VolumeMounts: []corev1.VolumeMount{
							{Name: dataVolume, MountPath: dataDir},
							{Name: tmpVolume, MountPath: "/tmp"},
						},
						SecurityContext: &corev1.SecurityContext{
							AllowPrivilegeEscalation: ptr(false),
							ReadOnlyRootFilesystem:   ptr(true),
							Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
						},
					}},
					Volumes: []corev1.Volume{{Name: tmpVolume, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}},
				},
			},
			VolumeClaimTemplates: []corev1.PersistentVolumeClaim{{
				TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "PersistentVolumeClaim"},
				ObjectMeta: metav1.ObjectMeta{Name: dataVolume, Labels: labels(id)},
				Spec: corev1.PersistentVolumeClaimSpec{
					AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
					StorageClassName: storageClass,
					Resources: corev1.VolumeResourceRequirements{
						Requests: corev1.ResourceList{corev1.ResourceStorage: storageQuantity(spec.StorageGB)},
					},
				},
			}},
		},
	}
	sts.Annotations = map[string]string{AnnotationGeneration: strconv.FormatInt(spec.Generation, 10)}

	objs := Objects{Secret: secret, Headless: headless, Client: client, StatefulSet: sts}
	for _, o := range []metav1.Object{secret, headless, client, sts} {
		if err := setSpecHash(o); err != nil {
			return Objects{}, err
		}
	}
	return objs, nil
}

// setSpecHash stores a digest of o (without the digest itself) in its
// annotations.
func setSpecHash(o metav1.Object) error {
	ann := o.GetAnnotations()
	delete(ann, AnnotationSpecHash)
	b, err := json.Marshal(o)
	if err != nil {
		return fmt.Errorf("kube: hash %s: %w", o.GetName(), err)
	}
	sum := sha256.Sum256(b)
	if ann == nil {
		ann = map[string]string{}
	}
	ann[AnnotationSpecHash] = hex.EncodeToString(sum[:12])
	o.SetAnnotations(ann)
	return nil
}

func ptr[T any](v T) *T { return &v }
