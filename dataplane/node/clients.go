package node

import (
	"github.com/orbitmq/orbit/dataplane/admin"
	"github.com/orbitmq/orbit/dataplane/proxy"
)

// proxyClients is the proxy's client registry as the admin service's
// ClientSource (admin does not import the proxy).
type proxyClients struct{ p *proxy.Server }

func (pc proxyClients) Clients() []admin.ClientInfo {
	in := pc.p.Clients()
	out := make([]admin.ClientInfo, len(in))
	for i, c := range in {
		out[i] = admin.ClientInfo{
			ID: c.ID, Kind: string(c.Kind), Address: c.Address, Language: c.Language, Version: c.Version,
			Hostname: c.Hostname, Group: c.Group, Topics: c.Topics, AccessKey: c.AccessKey,
			FirstSeen: c.FirstSeen, LastSeen: c.LastSeen,
		}
		for _, s := range c.Subscriptions {
			out[i].Subscriptions = append(out[i].Subscriptions, admin.ClientSubscription{
				Topic: s.Topic, FilterType: string(s.FilterType), Expression: s.Expression,
			})
		}
	}
	return out
}
