package api

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/orbitmq/orbit/controlplane/instances"
)

// hoursPerMonth is the month pricePerMonth is quoted for (365 × 24 / 12).
const hoursPerMonth = 730

// Spec is one entry of the catalogue. Prices are USD with six decimals.
type Spec struct {
	SpecCode                string  `json:"specCode" example:"rmq.s2.2xlarge"`
	Edition                 string  `json:"edition" enum:"standard,professional"`
	MaxTPS                  int     `json:"maxTps" doc:"Peak messages per second, sends plus receives, in 4 KB units."`
	MaxTopics               int     `json:"maxTopics"`
	MaxGroups               int     `json:"maxGroups"`
	StorageGB               int     `json:"storageGb" doc:"Storage included in the hourly price."`
	PricePerHour            float64 `json:"pricePerHour" doc:"USD per hour the instance exists."`
	PricePerMonth           float64 `json:"pricePerMonth" doc:"USD for a 730-hour month."`
	PricePerMillionRequests float64 `json:"pricePerMillionRequests" doc:"USD per million requests beyond the spec."`
	PricePerGBHour          float64 `json:"pricePerGbHour" doc:"USD per GB-hour of storage beyond storageGb."`
}

func usd(micros int64) float64 { return float64(micros) / 1e6 }

func specView(s instances.Spec) Spec {
	return Spec{
		SpecCode: s.Code, Edition: s.Edition, MaxTPS: s.MaxTPS, MaxTopics: s.MaxTopics, MaxGroups: s.MaxGroups,
		StorageGB: s.StorageGB, PricePerHour: usd(s.PricePerHourMicros), PricePerMonth: usd(s.PricePerHourMicros * hoursPerMonth),
		PricePerMillionRequests: usd(s.PricePerMillionRequestsMicros), PricePerGBHour: usd(s.PricePerGBHourMicros),
	}
}

type SpecList struct {
	Items         []Spec `json:"items"`
	NextPageToken string `json:"nextPageToken,omitempty"`
}

// Instance is a RocketMQ instance. Its admin address and token never leave the server.
type Instance struct {
	InstanceID            string    `json:"instanceId"`
	InstanceName          string    `json:"instanceName"`
	SpecCode              string    `json:"specCode"`
	Status                string    `json:"status" enum:"CREATING,RUNNING,UPDATING,STOPPING,STOPPED,STARTING,DELETING,FAILED"`
	StatusReason          string    `json:"statusReason,omitempty" doc:"Why the instance FAILED, or what a transitional status waits for."`
	MessageRetentionHours int       `json:"messageRetentionHours"`
	FlushMode             string    `json:"flushMode" enum:"sync,async"`
	Remark                string    `json:"remark"`
	Endpoint              string    `json:"endpoint,omitempty" doc:"host:port for RocketMQ clients; absent until the instance has run."`
	CreatedAt             time.Time `json:"createdAt"`
	UpdatedAt             time.Time `json:"updatedAt"`
	Spec                  *Spec     `json:"spec,omitempty" doc:"The instance's spec, for convenience."`
}

func instanceView(in instances.Instance, specs map[string]instances.Spec) Instance {
	v := Instance{
		InstanceID: in.ID, InstanceName: in.Name, SpecCode: in.SpecCode, Status: string(in.Status),
		StatusReason: in.StatusReason, MessageRetentionHours: in.RetentionHours, FlushMode: in.FlushMode,
		Remark: in.Remark, Endpoint: in.Endpoint, CreatedAt: in.CreatedAt.UTC(), UpdatedAt: in.UpdatedAt.UTC(),
	}
	if sp, ok := specs[in.SpecCode]; ok {
		view := specView(sp)
		v.Spec = &view
	}
	return v
}

type InstanceList struct {
	Items         []Instance `json:"items"`
	NextPageToken string     `json:"nextPageToken,omitempty"`
}

// CreateInstanceRequest describes a new instance.
type CreateInstanceRequest struct {
	InstanceName          string `json:"instanceName" maxLength:"64"`
	SpecCode              string `json:"specCode" maxLength:"64" doc:"A specCode from GET /specs."`
	MessageRetentionHours int    `json:"messageRetentionHours,omitempty" minimum:"1" maximum:"720" doc:"How long messages are kept; 72 if absent."`
	FlushMode             string `json:"flushMode,omitempty" enum:"sync,async" doc:"sync (default) acknowledges a send once it is on disk; async once it is in memory."`
	Remark                string `json:"remark,omitempty" maxLength:"256"`
}

// UpdateInstanceRequest changes the fields it carries. A retention or spec
// change is applied to the running node (status UPDATING).
type UpdateInstanceRequest struct {
	InstanceName          *string `json:"instanceName,omitempty" maxLength:"64"`
	Remark                *string `json:"remark,omitempty" maxLength:"256"`
	MessageRetentionHours *int    `json:"messageRetentionHours,omitempty" minimum:"1" maximum:"720"`
	SpecCode              *string `json:"specCode,omitempty" maxLength:"64"`
}

type instancePath struct {
	InstanceID string `path:"instanceId" maxLength:"64"`
}

type instanceOutput struct {
	Body Instance
}

// instanceProblem maps the instances package's errors; the rest go to problemFor.
func instanceProblem(err error) error {
	var se *instances.StateError
	switch {
	case errors.As(err, &se):
		return newProblem(http.StatusConflict, "invalid_instance_state", "The instance is "+string(se.Status)+", so it cannot "+se.Op+" now.")
	case errors.Is(err, instances.ErrQuotaExceeded):
		return newProblem(http.StatusUnprocessableEntity, "quota_exceeded", "The account has as many instances as it may have. Delete one first.")
	case errors.Is(err, instances.ErrNotFound):
		return newProblem(http.StatusNotFound, "instance_not_found", "The instance does not exist.")
	}
	return err
}

// specIndex loads the catalogue to inline each instance's spec.
func (s *Server) specIndex(ctx context.Context) (map[string]instances.Spec, error) {
	specs, err := s.instances.Specs(ctx)
	if err != nil {
		return nil, err
	}
	m := make(map[string]instances.Spec, len(specs))
	for _, sp := range specs {
		m[sp.Code] = sp
	}
	return m, nil
}

// instanceResult turns a service result into the response, noting the audit resource.
func (s *Server) instanceResult(ctx context.Context, in instances.Instance, err error) (*instanceOutput, error) {
	if err != nil {
		return nil, instanceProblem(err)
	}
	noteAuditResource(ctx, "instances/"+in.ID)
	specs, err := s.specIndex(ctx)
	if err != nil {
		return nil, err
	}
	return &instanceOutput{Body: instanceView(in, specs)}, nil
}

func (s *Server) registerInstances() {
	huma.Register(s.api, huma.Operation{
		OperationID: "listSpecs", Method: http.MethodGet, Path: BasePath + "/specs",
		Summary: "List instance specs", Description: "The catalogue of instance specs with their limits and prices, in display order.",
		Tags: []string{"Specs"}, Security: bearerSecurity,
	}, handle(s, func(ctx context.Context, in *struct{ PageParams }) (*struct{ Body SpecList }, error) {
		after, err := in.cursor()
		if err != nil {
			return nil, err
		}
		specs, err := s.instances.Specs(ctx)
		if err != nil {
			return nil, err
		}
		// The catalogue is small and ordered by sort order, not code: page in memory.
		if after != "" {
			for i, sp := range specs {
				if sp.Code == after {
					specs = specs[i+1:]
					break
				}
			}
		}
		specs, next := page(specs, in.PageSize, func(sp instances.Spec) string { return sp.Code })
		out := &struct{ Body SpecList }{Body: SpecList{Items: make([]Spec, 0, len(specs)), NextPageToken: next}}
		for _, sp := range specs {
			out.Body.Items = append(out.Body.Items, specView(sp))
		}
		return out, nil
	}))

	tags := []string{"Instances"}
	huma.Register(s.api, huma.Operation{
		OperationID: "listInstances", Method: http.MethodGet, Path: BasePath + "/instances",
		Summary: "List instances", Description: "Instances of the caller's account, by id, including those being deleted.",
		Tags: tags, Security: bearerSecurity,
	}, handle(s, func(ctx context.Context, in *struct{ PageParams }) (*struct{ Body InstanceList }, error) {
		after, err := in.cursor()
		if err != nil {
			return nil, err
		}
		list, err := s.instances.List(ctx, mustPrincipal(ctx), after, in.PageSize+1)
		if err != nil {
			return nil, instanceProblem(err)
		}
		list, next := page(list, in.PageSize, func(i instances.Instance) string { return i.ID })
		specs, err := s.specIndex(ctx)
		if err != nil {
			return nil, err
		}
		out := &struct{ Body InstanceList }{Body: InstanceList{Items: make([]Instance, 0, len(list)), NextPageToken: next}}
		for _, i := range list {
			out.Body.Items = append(out.Body.Items, instanceView(i, specs))
		}
		return out, nil
	}))

	type createInstanceInput struct {
		IdempotencyHeader
		Body CreateInstanceRequest
	}
	huma.Register(s.api, huma.Operation{
		OperationID: "createInstance", Method: http.MethodPost, Path: BasePath + "/instances",
		Summary: "Create an instance", Description: "Records a new instance and returns it in CREATING; poll GET until it is RUNNING. Needs developer.",
		Tags: tags, Security: bearerSecurity, DefaultStatus: http.StatusAccepted, MaxBodyBytes: maxBodyBytes,
		Metadata: map[string]any{idempotentOp: true},
	}, handle(s, func(ctx context.Context, in *createInstanceInput) (*instanceOutput, error) {
		inst, err := s.instances.Create(ctx, mustPrincipal(ctx), instances.CreateInput{
			Name: in.Body.InstanceName, SpecCode: in.Body.SpecCode, RetentionHours: in.Body.MessageRetentionHours,
			FlushMode: in.Body.FlushMode, Remark: in.Body.Remark,
		})
		return s.instanceResult(ctx, inst, err)
	}))

	huma.Register(s.api, huma.Operation{
		OperationID: "getInstance", Method: http.MethodGet, Path: BasePath + "/instances/{instanceId}",
		Summary: "Get an instance", Tags: tags, Security: bearerSecurity,
	}, handle(s, func(ctx context.Context, in *instancePath) (*instanceOutput, error) {
		inst, err := s.instances.Get(ctx, mustPrincipal(ctx), in.InstanceID)
		if err != nil {
			return nil, instanceProblem(err)
		}
		specs, err := s.specIndex(ctx)
		if err != nil {
			return nil, err
		}
		return &instanceOutput{Body: instanceView(inst, specs)}, nil
	}))

	type updateInstanceInput struct {
		InstanceID string `path:"instanceId" maxLength:"64"`
		Body       UpdateInstanceRequest
	}
	huma.Register(s.api, huma.Operation{
		OperationID: "updateInstance", Method: http.MethodPatch, Path: BasePath + "/instances/{instanceId}",
		Summary: "Update an instance", Description: "Renames an instance or changes its remark, message retention or spec. Retention and spec changes are applied to the node: a RUNNING instance becomes UPDATING.",
		Tags: tags, Security: bearerSecurity, MaxBodyBytes: maxBodyBytes,
	}, handle(s, func(ctx context.Context, in *updateInstanceInput) (*instanceOutput, error) {
		inst, err := s.instances.Update(ctx, mustPrincipal(ctx), in.InstanceID, instances.UpdateInput{
			Name: in.Body.InstanceName, Remark: in.Body.Remark, RetentionHours: in.Body.MessageRetentionHours, SpecCode: in.Body.SpecCode,
		})
		return s.instanceResult(ctx, inst, err)
	}))

	huma.Register(s.api, huma.Operation{
		OperationID: "deleteInstance", Method: http.MethodDelete, Path: BasePath + "/instances/{instanceId}",
		Summary: "Delete an instance", Description: "Deletes the instance and all its messages. It is returned in DELETING and disappears once its resources are gone.",
		Tags: tags, Security: bearerSecurity, DefaultStatus: http.StatusAccepted,
	}, handle(s, func(ctx context.Context, in *instancePath) (*instanceOutput, error) {
		inst, err := s.instances.Delete(ctx, mustPrincipal(ctx), in.InstanceID)
		return s.instanceResult(ctx, inst, err)
	}))

	huma.Register(s.api, huma.Operation{
		OperationID: "startInstance", Method: http.MethodPost, Path: BasePath + "/instances/{instanceId}/start",
		Summary: "Start an instance", Description: "Starts a STOPPED or FAILED instance; it is returned in STARTING.",
		Tags: tags, Security: bearerSecurity, DefaultStatus: http.StatusAccepted,
	}, handle(s, func(ctx context.Context, in *instancePath) (*instanceOutput, error) {
		inst, err := s.instances.Start(ctx, mustPrincipal(ctx), in.InstanceID)
		return s.instanceResult(ctx, inst, err)
	}))

	huma.Register(s.api, huma.Operation{
		OperationID: "stopInstance", Method: http.MethodPost, Path: BasePath + "/instances/{instanceId}/stop",
		Summary: "Stop an instance", Description: "Stops a RUNNING (or FAILED) instance and keeps its messages; it is returned in STOPPING.",
		Tags: tags, Security: bearerSecurity, DefaultStatus: http.StatusAccepted,
	}, handle(s, func(ctx context.Context, in *instancePath) (*instanceOutput, error) {
		inst, err := s.instances.Stop(ctx, mustPrincipal(ctx), in.InstanceID)
		return s.instanceResult(ctx, inst, err)
	}))
}
