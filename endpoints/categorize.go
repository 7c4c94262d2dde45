package endpoints

// Categorize splits one service port's endpoints into the cluster and local sets.
func Categorize(eps []Endpoint, t Topology) (cluster, local []Endpoint) {
	panic("TODO")
}
