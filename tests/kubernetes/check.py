#!/usr/bin/env python3
"""Checks deploy/kubernetes/ against the rest of the repository.

    tests/kubernetes/check.py [SRCDIR] [TFJAIL_BIN]

Every manifest parses; the kustomization lists them; every field that
docs/kubernetes.md relies on is present; the image, the port, the probe
paths, the mount paths and the resources agree with the Dockerfile,
mk/container.mk, container/tfjail.json, config/tfjail.json, api/openapi.json
and the policy (which `tfjail policy check` must accept).  Prints one line per
problem and exits 1 if there is any.
"""
import glob
import json
import os
import re
import subprocess
import sys
import tempfile

import yaml

src = sys.argv[1] if len(sys.argv) > 1 else "."
tfjail = sys.argv[2] if len(sys.argv) > 2 else os.path.join(src, "bin/tfjail")
kdir = os.path.join(src, "deploy/kubernetes")
problems = []


def need(cond, what):
    if not cond:
        problems.append(what)
    return cond


def read(rel):
    with open(os.path.join(src, rel), encoding="utf-8") as f:
        return f.read()


def size_bytes(v):
    """Kubernetes quantities and tfjail's size strings, in bytes."""
    m = re.fullmatch(r"(\d+)\s*(Ki|Mi|Gi|KiB|MiB|GiB|k|M|G)?", str(v))
    if not m:
        raise ValueError("not a size: %r" % v)
    mult = {None: 1, "Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30, "KiB": 1 << 10,
            "MiB": 1 << 20, "GiB": 1 << 30, "k": 10**3, "M": 10**6, "G": 10**9}
    return int(m.group(1)) * mult[m.group(2)]


# --- every manifest parses; the kustomization lists the service's manifests
docs = {}
for path in sorted(glob.glob(os.path.join(kdir, "*.yaml"))):
    name = os.path.basename(path)
    try:
        with open(path, encoding="utf-8") as f:
            loaded = [d for d in yaml.safe_load_all(f) if d is not None]
    except yaml.YAMLError as e:
        need(False, "%s: does not parse: %s" % (name, e))
        continue
    for d in loaded:
        need(isinstance(d, dict) and d.get("apiVersion") and d.get("kind"),
             "%s: a document without apiVersion/kind" % name)
        if d.get("kind") != "Kustomization":
            need(d.get("metadata", {}).get("name"), "%s: %s without metadata.name" % (name, d.get("kind")))
    docs[name] = loaded
if problems:
    print("\n".join(problems))
    sys.exit(1)

kust = docs["kustomization.yaml"][0]
for r in kust.get("resources", []):
    need(r in docs, "kustomization.yaml: resource %s does not exist" % r)
for name in docs:
    if name not in ("kustomization.yaml", "writer.yaml"):
        need(name in kust.get("resources", []), "kustomization.yaml does not list %s" % name)

objs = {}
for name, ds in docs.items():
    for d in ds:
        objs[(d["kind"], d.get("metadata", {}).get("name"))] = d

# --- the repository's side
dockerfile = read("Dockerfile")
exposed = [int(p) for p in re.findall(r"^EXPOSE\s+(\d+)", dockerfile, re.M)]
need(len(exposed) == 1, "Dockerfile: want exactly one EXPOSE, got %s" % exposed)
port = exposed[0] if exposed else None
image_cfg = json.loads(read("container/tfjail.json"))
need(image_cfg["listen"].endswith(":%s" % port),
     "container/tfjail.json listen %s is not the EXPOSEd port %s" % (image_cfg["listen"], port))
health = re.search(r"HEALTHCHECK.*?/dev/tcp/127\.0\.0\.1/(\d+).*?GET (/\S+) ", dockerfile, re.S)
need(health and int(health.group(1)) == port and health.group(2) == "/health",
     "Dockerfile: HEALTHCHECK does not ask /health on port %s" % port)
image = re.search(r"^CONTAINER_IMAGE\s*\?=\s*(\S+)", read("mk/container.mk"), re.M).group(1)
api_paths = set(json.loads(read("api/openapi.json"))["paths"])
example_keys = set(json.loads(read("config/tfjail.json")))

# --- the ConfigMap: the config and the policy
cm = objs.get(("ConfigMap", "tfjail-config"))
need(cm, "configmap.yaml: no ConfigMap tfjail-config")
cfg = json.loads(cm["data"]["tfjail.json"])
need(set(cfg) <= example_keys,
     "ConfigMap tfjail.json: keys %s are not in config/tfjail.json" % sorted(set(cfg) - example_keys))
need(cfg.get("listen", "").endswith(":%s" % port), "ConfigMap listen %s is not port %s" % (cfg.get("listen"), port))
need(cfg.get("listen", "").startswith("0.0.0.0:"), "ConfigMap listen must be 0.0.0.0 (the Service connects from outside the pod)")
policy = json.loads(cm["data"]["policy.json"])
with tempfile.NamedTemporaryFile("w", suffix=".json") as f:
    f.write(cm["data"]["policy.json"])
    f.flush()
    r = subprocess.run([tfjail, "policy", "check", f.name], capture_output=True, text=True)
    need(r.returncode == 0, "ConfigMap policy.json: tfjail policy check: %s" % (r.stderr.strip() or r.stdout.strip()))

# --- the Deployment
dep = objs.get(("Deployment", "tfjail"))
need(dep, "deployment.yaml: no Deployment tfjail")
pod = dep["spec"]["template"]["spec"]
labels = dep["spec"]["template"]["metadata"]["labels"]
need(dep["spec"]["selector"]["matchLabels"].items() <= labels.items(), "Deployment: selector does not match the pod's labels")
(c,) = [c for c in pod["containers"] if c["name"] == "tfjail"]
need(c["image"] == image, "Deployment: image %s, make container-image builds %s" % (c["image"], image))
ports = {p.get("name"): p["containerPort"] for p in c["ports"]}
need(ports.get("http") == port, "Deployment: containerPort http %s, the Dockerfile EXPOSEs %s" % (ports.get("http"), port))
mounts = {m["mountPath"]: m for m in c["volumeMounts"]}
vols = {v["name"]: v for v in pod["volumes"]}
args = c.get("args", [])
need("--config" in args, "Deployment: no --config argument")
conf_path = args[args.index("--config") + 1] if "--config" in args else ""


def mounted_from(path):
    """The (mount, volume) that holds PATH."""
    best = None
    for mp, m in mounts.items():
        if path == mp or path.startswith(mp.rstrip("/") + "/"):
            if best is None or len(mp) > len(best[0]["mountPath"]):
                best = (m, vols.get(m["name"]))
    return best or (None, None)


for path, key in ((conf_path, "tfjail.json"), (cfg.get("policy") or "", "policy.json")):
    m, v = mounted_from(path)
    need(v and v.get("configMap", {}).get("name") == "tfjail-config" and
         os.path.basename(path) == key and os.path.dirname(path) == m["mountPath"],
         "Deployment: %s is not the ConfigMap's %s" % (path, key))
m, v = mounted_from(cfg.get("uploads_dir", "/var/lib/tfjail/uploads"))
need(m and m["mountPath"] == cfg.get("uploads_dir") and m.get("readOnly") and
     v.get("persistentVolumeClaim", {}).get("claimName") == "tfjail-uploads",
     "Deployment: the uploads volume is not mounted read-only at uploads_dir")
need(("PersistentVolumeClaim", "tfjail-uploads") in objs, "no PersistentVolumeClaim tfjail-uploads")
m, v = mounted_from("/usr/local/share/terraform/plugins")
need(m and m.get("readOnly") and v.get("persistentVolumeClaim", {}).get("claimName") == "tfjail-provider-mirror",
     "Deployment: the provider mirror is not mounted read-only at /usr/local/share/terraform/plugins")
need(("PersistentVolumeClaim", "tfjail-provider-mirror") in objs, "no PersistentVolumeClaim tfjail-provider-mirror")
m, v = mounted_from("/run/tfjail/slots")
need(m and v.get("hostPath", {}).get("path") == "/run/tfjail/slots",
     "Deployment: /run/tfjail/slots is not the node's (hostPath): pods on one node could share sandbox uids")

for probe, paths in (("livenessProbe", {"/health"}), ("readinessProbe", {"/health", "/ready"})):
    p = c.get(probe, {}).get("httpGet", {})
    need(p.get("path") in paths and p.get("path") in api_paths,
         "Deployment: %s path %s (want one of %s, served per api/openapi.json)" % (probe, p.get("path"), sorted(paths)))
    need(p.get("port") in ("http", port), "Deployment: %s port %s is not the http port" % (probe, p.get("port")))

sc = c.get("securityContext", {})
caps = set(sc.get("capabilities", {}).get("add", []))
need(sc.get("privileged") or {"SYS_ADMIN", "SETUID", "SETGID"} <= caps,
     "Deployment: neither privileged nor the capabilities of docs/container.md")
need(pod.get("terminationGracePeriodSeconds", 30) > cfg.get("shutdown_grace", 30),
     "Deployment: terminationGracePeriodSeconds is not above shutdown_grace")

# Resources: requests hold the concurrent jobs at the measured floor (aws
# fixture, 384 MiB each, README), limits the policy's limits.memory each.
jobs = cfg.get("max_concurrent_jobs", 2)
job_limit = size_bytes(policy.get("limits", {}).get("memory", "1536MiB"))
res = c.get("resources", {})
req = size_bytes(res.get("requests", {}).get("memory", "0"))
lim = size_bytes(res.get("limits", {}).get("memory", "0"))
need(req >= jobs * (384 << 20), "Deployment: requests.memory %d MiB < %d jobs x 384 MiB" % (req >> 20, jobs))
need(lim >= jobs * job_limit, "Deployment: limits.memory %d MiB < %d jobs x limits.memory %d MiB"
     % (lim >> 20, jobs, job_limit >> 20))
need(res.get("requests", {}).get("cpu"), "Deployment: no requests.cpu")

# --- the Service
svc = objs.get(("Service", "tfjail"))
need(svc, "service.yaml: no Service tfjail")
need(svc["spec"]["selector"].items() <= labels.items(), "Service: selector does not match the pod's labels")
need(any(p.get("targetPort") in ("http", port) and p.get("port") == port for p in svc["spec"]["ports"]),
     "Service: no port %s to the http port" % port)

# --- the writer pod mounts the same claims
uw = objs.get(("Pod", "tfjail-writer"))
claims = {v.get("persistentVolumeClaim", {}).get("claimName") for v in (uw or {}).get("spec", {}).get("volumes", [])}
need({"tfjail-uploads", "tfjail-provider-mirror"} <= claims, "writer.yaml: does not mount both volumes")
need(uw and uw["spec"]["containers"][0]["image"] == image, "writer.yaml: image is not %s" % image)

if problems:
    print("\n".join(problems))
    sys.exit(1)
print("kubernetes: %d manifests agree with the Dockerfile, the config and the policy" % len(docs))
