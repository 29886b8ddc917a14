package k8scheck

import (
	"bytes"
	"fmt"
	"os"
	"regexp"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// PodMonitor and PrometheusRule (monitoring.coreos.com/v1): the fields the
// charts use, as the prometheus-operator CRDs define them; any other field
// fails the strict decoding like an unknown field of a core type.
type PodMonitor struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		Selector            metav1.LabelSelector `json:"selector"`
		PodMetricsEndpoints []struct {
			Port     string `json:"port"`
			Path     string `json:"path"`
			Interval string `json:"interval"`
		} `json:"podMetricsEndpoints"`
	} `json:"spec"`
}

type Rule struct {
	Alert       string            `json:"alert,omitempty"`
	Record      string            `json:"record,omitempty"`
	Expr        string            `json:"expr"`
	For         string            `json:"for,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

type RuleGroups struct {
	Groups []struct {
		Name  string `json:"name"`
		Rules []Rule `json:"rules"`
	} `json:"groups"`
}

type PrometheusRule struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              RuleGroups `json:"spec"`
}

// Doc is one manifest of a rendered file: its text and the typed object.
type Doc struct {
	Kind string
	Name string
	Raw  string
	Obj  any
}

var sep = regexp.MustCompile(`(?m)^---\s*$`)

func newObj(kind string) (any, error) {
	switch kind {
	case "Deployment":
		return &appsv1.Deployment{}, nil
	case "Secret":
		return &corev1.Secret{}, nil
	case "ConfigMap":
		return &corev1.ConfigMap{}, nil
	case "ServiceAccount":
		return &corev1.ServiceAccount{}, nil
	case "Role":
		return &rbacv1.Role{}, nil
	case "RoleBinding":
		return &rbacv1.RoleBinding{}, nil
	case "CronJob":
		return &batchv1.CronJob{}, nil
	case "Job":
		return &batchv1.Job{}, nil
	case "PodMonitor":
		return &PodMonitor{}, nil
	case "PrometheusRule":
		return &PrometheusRule{}, nil
	}
	return nil, fmt.Errorf("kind %q: not expected in these charts", kind)
}

// Load decodes every manifest of a `helm template` output strictly: an
// unknown or duplicate field, a wrong type or an unknown kind is an error.
func Load(path string) ([]Doc, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var docs []Doc
	for _, part := range sep.Split(string(b), -1) {
		if strings.TrimSpace(stripComments(part)) == "" {
			continue
		}
		var tm metav1.TypeMeta
		if err := yaml.Unmarshal([]byte(part), &tm); err != nil {
			return nil, fmt.Errorf("%s: %v", path, err)
		}
		obj, err := newObj(tm.Kind)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", path, err)
		}
		if err := yaml.UnmarshalStrict([]byte(part), obj); err != nil {
			return nil, fmt.Errorf("%s: %s: strict decoding: %v", path, tm.Kind, err)
		}
		var meta struct {
			Metadata metav1.ObjectMeta `json:"metadata"`
		}
		_ = yaml.Unmarshal([]byte(part), &meta)
		docs = append(docs, Doc{Kind: tm.Kind, Name: meta.Metadata.Name, Raw: part, Obj: obj})
	}
	return docs, nil
}

func stripComments(s string) string {
	var out bytes.Buffer
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "#") {
			continue
		}
		out.WriteString(l + "\n")
	}
	return out.String()
}

var envRef = regexp.MustCompile(`\$\{env:([A-Za-z_][A-Za-z0-9_]*)`)

// PipelineEnv returns the environment names a pipeline file reads
// (${env:NAME...} outside comments).
func PipelineEnv(path string) (map[string]bool, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	names := map[string]bool{}
	for _, m := range envRef.FindAllStringSubmatch(stripComments(string(b)), -1) {
		names[m[1]] = true
	}
	return names, nil
}
