package e2e

import (
	"context"
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// What the tests create, as a user and (for Pod status) a kubelet would.

func (cp *controlPlane) createNamespace(t *testing.T, name string) {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if _, err := cp.Client.CoreV1().Namespaces().Create(context.Background(), ns, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create namespace %s: %v", name, err)
	}
}

// createNode registers a Node with its zone label and InternalIP, as a
// kubelet does at start.
func (cp *controlPlane) createNode(t *testing.T, name, zone, ip string) {
	t.Helper()
	ctx := context.Background()
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{
		corev1.LabelTopologyZone: zone,
		corev1.LabelHostname:     name,
	}}}
	created, err := cp.Client.CoreV1().Nodes().Create(ctx, n, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create node %s: %v", name, err)
	}
	created.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: ip}}
	created.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}}
	created.Status.Allocatable = corev1.ResourceList{}
	if _, err := cp.Client.CoreV1().Nodes().UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("set status of node %s: %v", name, err)
	}
}

// createService creates a ClusterIP Service selecting app=name with one TCP
// port "http" 80 -> 8080, changed by mutate if given, and returns it as the
// API server stored it (ClusterIP allocated).
func (cp *controlPlane) createService(t *testing.T, ns, name string, mutate func(*corev1.Service)) *corev1.Service {
	t.Helper()
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{"app": name},
			Ports: []corev1.ServicePort{{Name: "http", Protocol: corev1.ProtocolTCP, Port: 80,
				TargetPort: intstr.FromInt32(8080)}},
		},
	}
	if mutate != nil {
		mutate(svc)
	}
	created, err := cp.Client.CoreV1().Services(ns).Create(context.Background(), svc, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create service %s/%s: %v", ns, name, err)
	}
	return created
}

func (cp *controlPlane) deleteService(t *testing.T, ns, name string) {
	t.Helper()
	if err := cp.Client.CoreV1().Services(ns).Delete(context.Background(), name, metav1.DeleteOptions{}); err != nil {
		t.Fatalf("delete service %s/%s: %v", ns, name, err)
	}
}

// createPod creates a Pod labelled app=app bound to node, its container
// exposing ports, then sets its status as the node's kubelet would once its
// sandbox runs: Running, with podIP, and Ready as given.
func (cp *controlPlane) createPod(t *testing.T, ns, name, app, node, ip string, ready bool, ports ...corev1.ContainerPort) {
	t.Helper()
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{"app": app}},
		Spec: corev1.PodSpec{
			NodeName:   node,
			Containers: []corev1.Container{{Name: "app", Image: "registry.k8s.io/pause:3.10", Ports: ports}},
		},
	}
	if _, err := cp.Client.CoreV1().Pods(ns).Create(context.Background(), pod, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create pod %s/%s: %v", ns, name, err)
	}
	cp.setPodStatus(t, ns, name, ip, ready)
}

// setPodStatus writes a running Pod's status through the status
// subresource.
func (cp *controlPlane) setPodStatus(t *testing.T, ns, name, ip string, ready bool) {
	t.Helper()
	ctx := context.Background()
	pods := cp.Client.CoreV1().Pods(ns)
	pod, err := pods.Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get pod %s/%s: %v", ns, name, err)
	}
	cond := corev1.ConditionFalse
	if ready {
		cond = corev1.ConditionTrue
	}
	now := metav1.Now()
	pod.Status = corev1.PodStatus{
		Phase:  corev1.PodRunning,
		HostIP: pod.Status.HostIP, PodIP: ip, PodIPs: []corev1.PodIP{{IP: ip}},
		StartTime: &now,
		Conditions: []corev1.PodCondition{
			{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: now},
			{Type: corev1.PodInitialized, Status: corev1.ConditionTrue, LastTransitionTime: now},
			{Type: corev1.ContainersReady, Status: cond, LastTransitionTime: now},
			{Type: corev1.PodReady, Status: cond, LastTransitionTime: now},
		},
		ContainerStatuses: []corev1.ContainerStatus{{Name: "app", Image: "registry.k8s.io/pause:3.10",
			Ready: ready, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: now}}}},
	}
	if _, err := pods.UpdateStatus(ctx, pod, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("set status of pod %s/%s: %v", ns, name, err)
	}
}

// deletePod deletes a Pod with a grace period. With no kubelet to finish
// it, a Pod deleted with grace > 0 stays, terminating, until deleted again
// with grace 0.
func (cp *controlPlane) deletePod(t *testing.T, ns, name string, grace int64) {
	t.Helper()
	err := cp.Client.CoreV1().Pods(ns).Delete(context.Background(), name, metav1.DeleteOptions{GracePeriodSeconds: &grace})
	if err != nil {
		t.Fatalf("delete pod %s/%s (grace %ds): %v", ns, name, grace, err)
	}
}

func podName(prefix string, i int) string { return fmt.Sprintf("%s-%03d", prefix, i) }
