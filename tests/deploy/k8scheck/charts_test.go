package k8scheck

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/yaml"
)

// tests/deploy/k8scheck.sh renders every chart into K8SCHECK_DIR as
// <chart>_<variant>.yaml: default, openshift and gke (the guide's example
// values), fake (every password and key set to a known fake value, listed in
// K8SCHECK_FAKE); the monitoring charts as default and tenant (tenant_id t100).

var services = []string{"gca", "gsp", "gim"}
var variants = []string{"default", "openshift", "gke", "fake"}

var metricsPort = map[string]int32{"gca": 9249, "gsp": 9249, "gim": 8249}
var listenVar = map[string]string{"gca": "GCA_METRICS_LISTEN", "gsp": "GSP_METRICS_LISTEN", "gim": "GIM_METRICS_LISTEN"}

// What a pipeline reads that its chart leaves unset on purpose.
var notSet = map[string][]string{
	"gca": {"CFGDB_PASSWORD", "S3_SECRET_FILE", "GCA_ONCE"},         // the password as a file; S3 keys by secretKeyRef; a cron/test knob
	"gsp": {"S3_SECRET_FILE", "GSP_STOP_AT_END", "GSP_REMOTE_OPERATIONS", "HOSTNAME"}, // secretKeyRef; test knob; loopback only; Kubernetes sets HOSTNAME
	"gim": {"GIM_STOP_AT_END", "GIM_SCHEMA_DIR"},                     // test knob; the image's installed migrations
}

// What a chart sets that its pipeline does not read: the GSP container's
// start script (deployment.yaml); libpq's own PG* variables (ARCHITECTURE.md
// §5: GIM's Info Mart database), which the postgres client reads itself.
// MARTFLOW_DATA_DIR: the engine's (its nodes' state files on the data volume).
var scriptEnv = map[string][]string{"gsp": {"GSP_PIPELINE", "GSP_RESTORE_SAVEPOINT", "MARTFLOW_DATA_DIR"},
	"gca": {"MARTFLOW_DATA_DIR"},
	"gim": {"PGHOST", "PGPORT", "PGDATABASE", "PGUSER", "PGSSLMODE", "PGPASSWORD", "MARTFLOW_DATA_DIR"}}

// The secrets the guide names, per service (release name = service name).
var guideSecrets = map[string][]string{
	"gca": {"gca-kafka-secrets", "gca-cfgdb-secrets", "gca-storage-secret", "gca-gimdb-secrets"},
	"gsp": {"gsp-s3"},
	"gim": {"kafka-secrets", "gim-secrets", "s3-storage-secrets"},
}

// made by hand (the guide: kubectl create secret generic kafka-secrets ...)
var handMade = map[string][]string{"gsp": {"kafka-secrets"}}

func dir(t *testing.T) string {
	d := os.Getenv("K8SCHECK_DIR")
	if d == "" {
		t.Fatal("K8SCHECK_DIR is not set (run tests/deploy/k8scheck.sh)")
	}
	return d
}

func load(t *testing.T, chart, variant string) []Doc {
	t.Helper()
	docs, err := Load(filepath.Join(dir(t), chart+"_"+variant+".yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) == 0 {
		t.Fatalf("%s %s: no manifest", chart, variant)
	}
	return docs
}

func find[T any](docs []Doc) []*T {
	var out []*T
	for _, d := range docs {
		if o, ok := d.Obj.(*T); ok {
			out = append(out, o)
		}
	}
	return out
}

func deployment(t *testing.T, docs []Doc) *appsv1.Deployment {
	t.Helper()
	ds := find[appsv1.Deployment](docs)
	if len(ds) != 1 {
		t.Fatalf("%d Deployments, want 1", len(ds))
	}
	return ds[0]
}

func container(t *testing.T, spec *corev1.PodSpec, name string) *corev1.Container {
	t.Helper()
	for i := range spec.Containers {
		if spec.Containers[i].Name == name {
			return &spec.Containers[i]
		}
	}
	t.Fatalf("no container %q", name)
	return nil
}

func TestDecodeStrict(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(dir(t), "*.yaml"))
	if len(files) < len(services)*len(variants)+4 {
		t.Fatalf("%d rendered files in %s, want at least %d", len(files), dir(t), len(services)*len(variants)+4)
	}
	for _, f := range files {
		docs, err := Load(f)
		if err != nil {
			t.Error(err)
			continue
		}
		t.Logf("%s: %d manifests", filepath.Base(f), len(docs))
	}
}

// A field the API does not have must fail: the check itself works.
func TestDecodeStrictRejectsUnknownField(t *testing.T) {
	f := filepath.Join(t.TempDir(), "bad.yaml")
	bad := "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec:\n  replicas: 1\n  strateg: {type: Recreate}\n"
	if err := os.WriteFile(f, []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(f); err == nil || !strings.Contains(err.Error(), "strateg") {
		t.Fatalf("unknown field accepted: %v", err)
	}
}

func TestWorkload(t *testing.T) {
	for _, svc := range services {
		for _, v := range variants {
			docs := load(t, svc, v)
			d := deployment(t, docs)
			if d.Spec.Replicas == nil || *d.Spec.Replicas != 1 {
				t.Errorf("%s %s: replicas %v, want 1", svc, v, d.Spec.Replicas)
			}
			if d.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType {
				t.Errorf("%s %s: strategy %q, want Recreate", svc, v, d.Spec.Strategy.Type)
			}
			pod := &d.Spec.Template.Spec
			c := container(t, pod, svc)
			var port int32
			for _, p := range c.Ports {
				if p.Name == "metrics" {
					port = p.ContainerPort
				}
			}
			if port != metricsPort[svc] {
				t.Errorf("%s %s: metrics port %d, want %d", svc, v, port, metricsPort[svc])
			}
			for probe, want := range map[*corev1.Probe]string{c.LivenessProbe: "/healthz", c.ReadinessProbe: "/readyz"} {
				if probe == nil || probe.HTTPGet == nil || probe.HTTPGet.Path != want || probe.HTTPGet.Port.String() != "metrics" {
					t.Errorf("%s %s: probe %+v, want GET %s on port metrics", svc, v, probe, want)
				}
			}
			env := envMap(c)
			if got := env[listenVar[svc]].Value; got != "0.0.0.0:"+itoa(metricsPort[svc]) {
				t.Errorf("%s %s: %s=%q, want 0.0.0.0:%d (the container port)", svc, v, listenVar[svc], got, metricsPort[svc])
			}
			sc := pod.SecurityContext
			if sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot {
				t.Fatalf("%s %s: runAsNonRoot not true: %+v", svc, v, sc)
			}
			if v == "openshift" { // the guide's arbitrary UIDs: no user, group 0, no fsGroup
				if sc.RunAsUser != nil || sc.FSGroup != nil || sc.RunAsGroup == nil || *sc.RunAsGroup != 0 {
					t.Errorf("%s openshift: securityContext %+v, want runAsUser and fsGroup unset, runAsGroup 0", svc, sc)
				}
			} else if sc.RunAsUser == nil || *sc.RunAsUser != 500 || sc.RunAsGroup == nil || *sc.RunAsGroup != 500 ||
				sc.FSGroup == nil || *sc.FSGroup != 500 {
				t.Errorf("%s %s: securityContext %+v, want 500/500/fsGroup 500", svc, v, sc)
			}
			// every directory the process writes is a volume (emptyDir or a claim),
			// writable whatever the UID: nothing owned by 500 alone
			mounts := map[string]bool{}
			for _, m := range c.VolumeMounts {
				mounts[m.MountPath] = !m.ReadOnly
			}
			if !strings.HasPrefix(env["MARTFLOW_DATA_DIR"].Value, "/var/lib/martflow/") {
				t.Errorf("%s %s: MARTFLOW_DATA_DIR=%q, want a directory of the data volume", svc, v, env["MARTFLOW_DATA_DIR"].Value)
			}
			if c.WorkingDir != "/var/lib/martflow" || !mounts["/var/lib/martflow"] || !mounts["/tmp"] {
				t.Errorf("%s %s: workingDir %q, writable mounts %v: want /var/lib/martflow and /tmp", svc, v, c.WorkingDir, mounts)
			}
		}
	}
}

func itoa(i int32) string { b, _ := json.Marshal(i); return string(b) }

func envMap(c *corev1.Container) map[string]corev1.EnvVar {
	m := map[string]corev1.EnvVar{}
	for _, e := range c.Env {
		m[e.Name] = e
	}
	return m
}

func TestEnvNamesArePipelines(t *testing.T) {
	pdir := os.Getenv("K8SCHECK_PIPELINES")
	for _, svc := range services {
		read, err := PipelineEnv(filepath.Join(pdir, svc+".yaml"))
		if err != nil {
			t.Fatal(err)
		}
		if len(read) < 10 {
			t.Fatalf("%s.yaml: only %d ${env:...} names found", svc, len(read))
		}
		set := map[string]bool{}
		for _, v := range variants {
			c := container(t, &deployment(t, load(t, svc, v)).Spec.Template.Spec, svc)
			for _, e := range c.Env {
				set[e.Name] = true
				if !read[e.Name] && !contains(scriptEnv[svc], e.Name) {
					t.Errorf("%s %s: env %s is not read by pipelines/%s.yaml", svc, v, e.Name, svc)
				}
			}
		}
		for _, name := range scriptEnv[svc] {
			if !set[name] {
				t.Errorf("%s: %s is never set", svc, name)
			}
		}
		var missing []string
		for name := range read {
			if !set[name] && !contains(notSet[svc], name) {
				missing = append(missing, name)
			}
		}
		sort.Strings(missing)
		if len(missing) > 0 {
			t.Errorf("%s: pipelines/%s.yaml reads %v, which the chart never sets", svc, svc, missing)
		}
		for _, name := range notSet[svc] {
			if !read[name] {
				t.Errorf("%s: %s is listed as not set, but the pipeline does not read it (update notSet)", svc, name)
			}
		}
	}
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

var secretName = regexp.MustCompile(`(PASSWORD|SECRET_KEY|ACCESS_KEY)$`)

// Every container of the chart (the service, the savepoint jobs).
func podSpecs(docs []Doc) map[string]*corev1.PodSpec {
	out := map[string]*corev1.PodSpec{}
	for _, d := range find[appsv1.Deployment](docs) {
		out["Deployment/"+d.Name] = &d.Spec.Template.Spec
	}
	for _, j := range find[batchv1.Job](docs) {
		out["Job/"+j.Name] = &j.Spec.Template.Spec
	}
	for _, j := range find[batchv1.CronJob](docs) {
		out["CronJob/"+j.Name] = &j.Spec.JobTemplate.Spec.Template.Spec
	}
	return out
}

func TestSecretReferences(t *testing.T) {
	for _, svc := range services {
		for _, v := range variants {
			docs := load(t, svc, v)
			secrets := map[string]*corev1.Secret{}
			for _, s := range find[corev1.Secret](docs) {
				secrets[s.Name] = s
			}
			if len(find[corev1.ConfigMap](docs)) != 0 {
				t.Errorf("%s %s: a ConfigMap is rendered (none expected: values go to env, secrets to Secrets)", svc, v)
			}
			if v == "fake" {
				for _, name := range guideSecrets[svc] {
					if secrets[name] == nil {
						t.Errorf("%s fake: the guide's secret %s is not created", svc, name)
					}
				}
			}
			hasKey := func(name, key string) bool {
				if contains(handMade[svc], name) {
					return true
				}
				s := secrets[name]
				if s == nil {
					return false
				}
				_, a := s.StringData[key]
				_, b := s.Data[key]
				return a || b
			}
			for where, spec := range podSpecs(docs) {
				vols := map[string]*corev1.Volume{}
				for i := range spec.Volumes {
					vol := &spec.Volumes[i]
					vols[vol.Name] = vol
					if vol.Secret != nil {
						for _, it := range vol.Secret.Items {
							if !hasKey(vol.Secret.SecretName, it.Key) {
								t.Errorf("%s %s %s: volume %s: secret %s has no key %s", svc, v, where, vol.Name, vol.Secret.SecretName, it.Key)
							}
						}
					}
				}
				for _, c := range spec.Containers {
					mountOf := map[string]string{}
					for _, m := range c.VolumeMounts {
						mountOf[m.MountPath] = m.Name
					}
					for _, e := range c.Env {
						if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
							r := e.ValueFrom.SecretKeyRef
							if !hasKey(r.Name, r.Key) {
								t.Errorf("%s %s %s: %s: secret %s has no key %s", svc, v, where, e.Name, r.Name, r.Key)
							}
						}
						if secretName.MatchString(e.Name) && (e.Value != "" || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil) {
							t.Errorf("%s %s %s: %s is not a secretKeyRef", svc, v, where, e.Name)
						}
						if strings.HasSuffix(e.Name, "_FILE") && e.Value != "" { // a file from a mounted secret
							vol := vols[mountOf[filepath.Dir(e.Value)]]
							if vol == nil || vol.Secret == nil || !hasKey(vol.Secret.SecretName, filepath.Base(e.Value)) {
								t.Errorf("%s %s %s: %s=%s is not a file of a mounted secret", svc, v, where, e.Name, e.Value)
							}
						}
					}
				}
			}
		}
	}
}

func fakes(t *testing.T) []string {
	f := strings.Split(os.Getenv("K8SCHECK_FAKE"), ",")
	if len(f) < 5 {
		t.Fatalf("K8SCHECK_FAKE: %q, want the fake secret values", os.Getenv("K8SCHECK_FAKE"))
	}
	return f
}

func TestNoSecretInPlainText(t *testing.T) {
	fv := fakes(t)
	seen := map[string]bool{}
	for _, svc := range services {
		for _, d := range load(t, svc, "fake") {
			for _, f := range fv {
				if !strings.Contains(d.Raw, f) {
					continue
				}
				if d.Kind != "Secret" {
					t.Errorf("%s: the secret value %q appears in %s %s", svc, f, d.Kind, d.Name)
				}
				seen[f] = true
			}
		}
		// the kafkasecrets JSON the guide describes, where Helm makes it
		for _, s := range find[corev1.Secret](load(t, svc, "fake")) {
			if js, ok := s.StringData["kafkasecrets"]; ok {
				var k struct{ Bootstrap, Username, Password string }
				if err := json.Unmarshal([]byte(js), &k); err != nil || k.Bootstrap == "" || k.Username == "" || k.Password == "" {
					t.Errorf("%s: %s kafkasecrets %q: want bootstrap, username, password (%v)", svc, s.Name, js, err)
				}
			}
		}
	}
	for _, f := range fv {
		if !seen[f] {
			t.Errorf("fake secret value %q is in no Secret: was it dropped?", f)
		}
	}
}

func TestSavepointJobsAndRBAC(t *testing.T) {
	for _, v := range variants {
		docs := load(t, "gsp", v)
		crons := find[batchv1.CronJob](docs)
		if len(crons) != 1 || crons[0].Spec.Schedule == "" {
			t.Fatalf("gsp %s: want one take-savepoint CronJob, got %d", v, len(crons))
		}
		script := func(spec *corev1.PodSpec) string { return strings.Join(spec.Containers[0].Args, "\n") }
		if s := script(&crons[0].Spec.JobTemplate.Spec.Template.Spec); !strings.Contains(s, `kubectl exec "deploy/$dep" -c gsp -- martflow savepoint`) {
			t.Errorf("gsp %s: the cron job does not run martflow savepoint in the GSP container:\n%s", v, s)
		}
		hooks := map[string]*batchv1.Job{}
		for _, j := range find[batchv1.Job](docs) {
			for _, h := range strings.Split(j.Annotations["helm.sh/hook"], ",") {
				hooks[h] = j
			}
		}
		pre, post := hooks["pre-upgrade"], hooks["post-upgrade"]
		if pre == nil || post == nil || hooks["pre-rollback"] != pre || hooks["post-rollback"] != post {
			t.Fatalf("gsp %s: hooks %v, want pre-upgrade,pre-rollback and post-upgrade,post-rollback", v, hooks)
		}
		if s := script(&pre.Spec.Template.Spec); !strings.Contains(s, "martflow savepoint") || !strings.Contains(s, "--stop") ||
			!strings.Contains(s, "--replicas=0") {
			t.Errorf("gsp %s: the pre-upgrade hook does not take a savepoint with --stop and stop the old version:\n%s", v, s)
		}
		roles := find[rbacv1.Role](docs)
		if len(roles) != 1 {
			t.Fatalf("gsp %s: %d Roles", v, len(roles))
		}
		has := func(group, res string, verbs ...string) {
			for _, r := range roles[0].Rules {
				if contains(r.APIGroups, group) && contains(r.Resources, res) {
					for _, vb := range verbs {
						if !contains(r.Verbs, vb) {
							t.Errorf("gsp %s: %s/%s lacks verb %s", v, group, res, vb)
						}
					}
					return
				}
			}
			t.Errorf("gsp %s: no rule for %q %s", v, group, res)
		}
		has("batch", "jobs", "get", "list", "watch", "delete")                                     // the guide's
		has("", "configmaps", "update", "get", "create", "watch", "patch", "delete", "list")       // the guide's
		has("", "pods/exec", "create")                                                             // kubectl exec
		has("apps", "deployments/scale", "patch")                                                  // the stop
		sa := crons[0].Spec.JobTemplate.Spec.Template.Spec.ServiceAccountName
		for _, b := range find[rbacv1.RoleBinding](docs) {
			if b.RoleRef.Name != roles[0].Name || len(b.Subjects) != 1 || b.Subjects[0].Name != sa {
				t.Errorf("gsp %s: RoleBinding %s does not bind %s to %s", v, b.Name, sa, roles[0].Name)
			}
		}
	}
}

// The guide's alerts per chart, with severity and "for" (empty: none).
var guideAlerts = map[string]map[string][2]string{
	"gsp": {"GspFlinkJobDown": {"critical", "5m"}, "GspOOMKilled": {"critical", ""},
		"GspNoTmRegistered": {"critical", "5m"}, "GspUnknownPerson": {"high", "5m"}},
	"gca-monitoring": {"GcaPodCrashLooping": {"critical", "5m"}, "GcaOOMKilled": {"critical", ""}},
	"gim-monitoring": {"GimEtlFailing": {"critical", "5m"}, "GimJobFailed": {"high", ""}},
}

var metricName = regexp.MustCompile(`[a-zA-Z_:][a-zA-Z0-9_:]*\{`)

func TestMonitoring(t *testing.T) {
	src := os.Getenv("K8SCHECK_SRC")
	out := os.Getenv("K8SCHECK_RULES_OUT")
	type mon struct{ chart, variant, target, targetVariant string }
	for _, m := range []mon{{"gsp", "default", "gsp", "default"}, {"gsp", "openshift", "gsp", "openshift"},
		{"gca-monitoring", "tenant", "gca", "openshift"}, {"gca-monitoring", "default", "gca", "default"},
		{"gca-monitoring", "default", "gca", "gke"},
		{"gim-monitoring", "tenant", "gim", "gke"}, {"gim-monitoring", "default", "gim", "fake"}} {
		docs := load(t, m.chart, m.variant)
		pod := deployment(t, load(t, m.target, m.targetVariant)).Spec.Template
		pms := find[PodMonitor](docs)
		if len(pms) != 1 {
			t.Fatalf("%s %s: %d PodMonitors", m.chart, m.variant, len(pms))
		}
		pm := pms[0]
		for k, want := range pm.Spec.Selector.MatchLabels {
			if pod.Labels[k] != want {
				t.Errorf("%s %s: selector %s=%s does not match the %s %s pod (%v)", m.chart, m.variant, k, want, m.target, m.targetVariant, pod.Labels)
			}
		}
		if len(pm.Spec.Selector.MatchLabels) == 0 || len(pm.Spec.PodMetricsEndpoints) != 1 {
			t.Fatalf("%s %s: PodMonitor %+v", m.chart, m.variant, pm.Spec)
		}
		ep := pm.Spec.PodMetricsEndpoints[0]
		c := container(t, &pod.Spec, m.target)
		if len(c.Ports) != 1 || c.Ports[0].Name != ep.Port || ep.Path != "/metrics" || ep.Interval != "30s" {
			t.Errorf("%s %s: endpoint %+v, pod ports %+v: want port %s, /metrics every 30s", m.chart, m.variant, ep, c.Ports, c.Ports[0].Name)
		}
		rules := find[PrometheusRule](docs)
		if len(rules) != 1 {
			t.Fatalf("%s %s: %d PrometheusRules", m.chart, m.variant, len(rules))
		}
		got := map[string]bool{}
		for _, g := range rules[0].Spec.Groups {
			for _, r := range g.Rules {
				got[r.Alert] = true
				want, ok := guideAlerts[m.chart][r.Alert]
				if !ok {
					t.Errorf("%s: unexpected alert %q", m.chart, r.Alert)
					continue
				}
				if r.Labels["severity"] != want[0] || r.For != want[1] {
					t.Errorf("%s: %s severity %q for %q, want %q for %q", m.chart, r.Alert, r.Labels["severity"], r.For, want[0], want[1])
				}
				// our metric names: each one an expression reads exists in the
				// code (engine/plugins) or a pipeline's aliases, but Kubernetes' and Prometheus' own
				for _, mm := range metricName.FindAllString(r.Expr, -1) {
					name := strings.TrimSuffix(mm, "{")
					if strings.HasPrefix(name, "kube_") || name == "up" {
						continue
					}
					if !inSource(t, src, name) {
						t.Errorf("%s: %s reads %s, which no martflow code or pipeline defines", m.chart, r.Alert, name)
					}
				}
			}
		}
		for a := range guideAlerts[m.chart] {
			if !got[a] {
				t.Errorf("%s: alert %s missing", m.chart, a)
			}
		}
		if out != "" { // for promtool check rules / test rules
			b, err := yaml.Marshal(rules[0].Spec)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(out, m.chart+"_"+m.variant+".rules.yaml"), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

var srcCache = map[string]bool{}

func inSource(t *testing.T, src, name string) bool {
	if v, ok := srcCache[name]; ok {
		return v
	}
	found := false
	for _, d := range []string{"engine", "plugins", "pipelines"} {
		_ = filepath.Walk(filepath.Join(src, d), func(p string, info os.FileInfo, err error) error {
			if found || err != nil || info.IsDir() {
				return nil
			}
			if ext := filepath.Ext(p); ext != ".c" && ext != ".h" && ext != ".yaml" {
				return nil
			}
			b, _ := os.ReadFile(p)
			found = strings.Contains(string(b), `"`+name+`"`) || strings.Contains(string(b), name+":")
			return nil
		})
	}
	srcCache[name] = found
	return found
}
