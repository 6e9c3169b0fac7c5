package api

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/orbitmq/orbit/iam"
)

type userPath struct {
	UserID string `path:"userId" maxLength:"64"`
}

type userOutput struct {
	Body User
}

type UserList struct {
	Items         []User `json:"items"`
	NextPageToken string `json:"nextPageToken,omitempty"`
}

// CreateUserRequest adds a user to the caller's account.
type CreateUserRequest struct {
	Email    string   `json:"email" maxLength:"254"`
	Name     string   `json:"name" maxLength:"100"`
	Role     iam.Role `json:"role" enum:"owner,admin,developer,viewer"`
	Password string   `json:"password" maxLength:"128" doc:"Initial password; the user should change it."`
}

// UpdateUserRequest changes the fields it carries.
type UpdateUserRequest struct {
	Name *string   `json:"name,omitempty" maxLength:"100"`
	Role *iam.Role `json:"role,omitempty" enum:"owner,admin,developer,viewer"`
}

func (s *Server) registerUsers() {
	tags := []string{"Users"}
	huma.Register(s.api, huma.Operation{
		OperationID: "listUsers", Method: http.MethodGet, Path: BasePath + "/users",
		Summary: "List users", Description: "Users of the caller's account, by id.",
		Tags: tags, Security: bearerSecurity,
	}, handle(s, func(ctx context.Context, in *struct{ PageParams }) (*struct{ Body UserList }, error) {
		after, err := in.cursor()
		if err != nil {
			return nil, err
		}
		users, err := s.iam.ListUsers(ctx, mustPrincipal(ctx), iam.ListOptions{AfterID: after, Limit: in.PageSize + 1})
		if err != nil {
			return nil, err
		}
		users, next := page(users, in.PageSize, func(u iam.User) string { return u.ID })
		out := &struct{ Body UserList }{Body: UserList{Items: make([]User, 0, len(users)), NextPageToken: next}}
		for _, u := range users {
			out.Body.Items = append(out.Body.Items, userView(u))
		}
		return out, nil
	}))

	type createUserInput struct {
		IdempotencyHeader
		Body CreateUserRequest
	}
	huma.Register(s.api, huma.Operation{
		OperationID: "createUser", Method: http.MethodPost, Path: BasePath + "/users",
		Summary: "Create a user", Description: "Adds a user to the caller's account. Needs admin; only roles up to the caller's own can be given.",
		Tags: tags, Security: bearerSecurity, DefaultStatus: http.StatusCreated, MaxBodyBytes: maxBodyBytes,
		Metadata: map[string]any{idempotentOp: true},
	}, handle(s, func(ctx context.Context, in *createUserInput) (*userOutput, error) {
		u, err := s.iam.CreateUser(ctx, mustPrincipal(ctx), iam.CreateUserInput{Email: in.Body.Email, Name: in.Body.Name, Role: in.Body.Role, Password: in.Body.Password})
		if err != nil {
			return nil, err
		}
		noteAuditResource(ctx, "users/"+u.ID)
		return &userOutput{Body: userView(u)}, nil
	}))

	huma.Register(s.api, huma.Operation{
		OperationID: "getUser", Method: http.MethodGet, Path: BasePath + "/users/{userId}",
		Summary: "Get a user", Tags: tags, Security: bearerSecurity,
	}, handle(s, func(ctx context.Context, in *userPath) (*userOutput, error) {
		u, err := s.iam.GetUser(ctx, mustPrincipal(ctx), in.UserID)
		if err != nil {
			return nil, err
		}
		return &userOutput{Body: userView(u)}, nil
	}))

	type updateUserInput struct {
		UserID string `path:"userId" maxLength:"64"`
		Body   UpdateUserRequest
	}
	huma.Register(s.api, huma.Operation{
		OperationID: "updateUser", Method: http.MethodPatch, Path: BasePath + "/users/{userId}",
		Summary: "Update a user", Description: "Renames a user or changes their role. Changing roles needs admin.",
		Tags: tags, Security: bearerSecurity, MaxBodyBytes: maxBodyBytes,
	}, handle(s, func(ctx context.Context, in *updateUserInput) (*userOutput, error) {
		u, err := s.iam.UpdateUser(ctx, mustPrincipal(ctx), in.UserID, iam.UpdateUserInput{Name: in.Body.Name, Role: in.Body.Role})
		if err != nil {
			return nil, err
		}
		return &userOutput{Body: userView(u)}, nil
	}))

	huma.Register(s.api, huma.Operation{
		OperationID: "deleteUser", Method: http.MethodDelete, Path: BasePath + "/users/{userId}",
		Summary: "Remove a user", Description: "Removes a user and their tokens from the account. The last owner cannot be removed.",
		Tags: tags, Security: bearerSecurity, DefaultStatus: http.StatusNoContent,
	}, handle(s, func(ctx context.Context, in *userPath) (*struct{}, error) {
		return nil, s.iam.DeleteUser(ctx, mustPrincipal(ctx), in.UserID)
	}))
}
