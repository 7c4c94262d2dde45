package lbpolicy

// Temporary: keeps test dependencies in go.mod while packages are written.
import (
	_ "github.com/go-logr/logr"
	_ "github.com/google/go-cmp/cmp"
	_ "github.com/stretchr/testify/assert"
	_ "sigs.k8s.io/yaml"
)
