#!/usr/bin/env bash
# The scheduler examples in pipelines/: what can run here runs, the rest is
# parsed. pipelines/shard.sh through the Slurm script (SLURM_ARRAY_TASK_ID set
# by hand) and through the Kubernetes Job's container script
# (JOB_COMPLETION_INDEX set by hand): 3 shards, searched as one, answer as
# the single-machine store does. pipelines/watch.sh as the systemd unit
# (systemd-analyze verify, then its ExecStart with its Environment) and as
# the Kubernetes sidecar's container command. The Airflow DAG is run against a stub of
# Airflow's classes that records its tasks, whose commands then run here.
# The Grafana dashboard names only metrics the programs write.
# shellcheck source=tests/lib.sh
. "$LODE_ROOT/tests/lib.sh"
PL=$ROOT/pipelines
PY=/usr/bin/python3
DOCS=$ROOT/examples
export LODE_THREADS=1

lode-extract "$DOCS" 2> /dev/null | lode-ocr 2> /dev/null | lode-chunk 2> /dev/null |
    lode-index -s single 2> /dev/null
printf '%s\n' "chunk size and overlap" "release notes" "extract pdf pages" "scanned page text" \
    "csv formats" "records fields id source" > q.txt
lode-query -s single --mode bm25 --no-text < q.txt > single.hits 2> /dev/null
answered() { jq -s 'map(.hits | length) | min' "$1"; }
check "the reference store answers every query" test "$(answered single.hits)" -gt 0

# ---- Slurm job array ----
check "ingest.sbatch: bash -n" bash -n "$PL/slurm/ingest.sbatch"
expect_eq "...asks for an array from 0" "--array=0-3" "$(sed -n 's/^#SBATCH \(--array=.*\)/\1/p' "$PL/slurm/ingest.sbatch")"
st=""
mkdir -p tmp
for k in 0 1 2; do
    TMPDIR=$PWD/tmp SLURM_ARRAY_TASK_ID=$k SLURM_ARRAY_TASK_COUNT=3 SLURM_CPUS_PER_TASK=1 \
        "$PL/slurm/ingest.sbatch" "$DOCS" slurm 2> slurm.$k.err
    st="$st$?"
done
expect_eq "the three array tasks, run here one after another: exit 0" 000 "$st"
check "...each published its shard" test -d slurm/kb.0 -a -d slurm/kb.1 -a -d slurm/kb.2
check "...the scratch stores on local disk removed" test -z "$(ls tmp)"
lode-query -s slurm/kb.0 -s slurm/kb.1 -s slurm/kb.2 --mode bm25 --no-text < q.txt > slurm.hits 2> /dev/null
check "...searched as one, the shards answer as the single store (ids and scores)" cmp -s single.hits slurm.hits
SLURM_ARRAY_TASK_ID=0 "$PL/slurm/ingest.sbatch" "$DOCS" slurm > /dev/null 2>&1
expect_eq "...without SLURM_ARRAY_TASK_COUNT: an error" 1 $?

# ---- Kubernetes indexed Job ----
"$PY" - "$PL/kubernetes/ingest-job.yaml" > k8s.txt << 'EOF'
import sys, yaml
docs = list(yaml.safe_load_all(open(sys.argv[1])))
assert len(docs) == 1, "one object"
job = docs[0]
spec = job["spec"]
c = spec["template"]["spec"]["containers"][0]
env = {e["name"]: e["value"] for e in c["env"]}
print("kind", job["apiVersion"], job["kind"], spec["completionMode"],
      spec["completions"] == spec["parallelism"] == int(env["SHARDS"]),
      spec["template"]["spec"]["restartPolicy"],
      {v["name"]: v.get("emptyDir") is not None for v in spec["template"]["spec"]["volumes"]}["scratch"])
open("k8s-script.sh", "w").write(c["args"][0])
print("command", " ".join(c["command"]))
EOF
expect_eq "ingest-job.yaml parses: an Indexed batch/v1 Job, completions = parallelism = SHARDS, scratch an emptyDir" \
    "kind batch/v1 Job Indexed True Never True" "$(grep '^kind' k8s.txt)"
st=""
for k in 0 1 2; do
    JOB_COMPLETION_INDEX=$k SHARDS=3 DOCS=$DOCS OUT=k8s MODEL="" LODE_PIPELINES=$PL \
        LODE_SCRATCH=$PWD bash k8s-script.sh 2> k8s.$k.err
    st="$st$?"
done
expect_eq "the container's script for indexes 0, 1, 2, run here: exit 0" 000 "$st"
lode-query -s k8s/kb.0 -s k8s/kb.1 -s k8s/kb.2 --mode bm25 --no-text < q.txt > k8s.hits 2> /dev/null
check "...the shards answer as the single store" cmp -s single.hits k8s.hits
SHARDS=3 DOCS=$DOCS OUT=k8s MODEL="" LODE_PIPELINES=$PL bash k8s-script.sh > /dev/null 2>&1
check "...outside an indexed Job it refuses" test $? != 0

# ---- watch.sh as a systemd service and a Kubernetes sidecar ----
# runs_watch NAME COMMAND...: the command (watch.sh) follows a folder: the
# first run indexes it, a new file gets in, SIGTERM exits 0
runs_watch() {
    local name=$1 pid st
    shift
    mkdir -p "$name.docs"
    printf 'Watched first.\n' > "$name.docs/one.txt"
    "$@" > "$name.log" 2> "$name.err" &
    pid=$!
    for _ in $(seq 100); do grep -q '"event":"end"' "$name.log" 2> /dev/null && break; sleep 0.1; done
    printf 'Watched second.\n' > "$name.docs/two.txt"
    for _ in $(seq 100); do [ "$(grep -c '"event":"end"' "$name.log")" -ge 2 ] && break; sleep 0.1; done
    kill -TERM "$pid"
    wait "$pid"
    st=$?
    expect_eq "$name: the service's command ran, followed a new file, and exited 0 on SIGTERM" \
        "0 2" "$st $(jq -s 'map(select(.event == "document")) | length' "$name.log")"
}
unit=$PL/systemd/lode-watch.service
sed -e "s|/usr/local/share/lode/pipelines|$PL|; s|/srv/docs|$PWD/unit.docs|; s|/srv/kb|$PWD/unit.kb|" \
    -e "s| /usr/local/share/lode/models/all-MiniLM-L6-v2||; s|^User=lode|User=$(id -un)|" \
    -e "s|/var/lib/prometheus/node-exporter|$PWD|" "$unit" > lode-watch.service
check "lode-watch.service: systemd-analyze verify finds nothing (paths set to this test's)" \
    bash -c 'out=$(systemd-analyze verify ./lode-watch.service 2>&1) && [ -z "$out" ] || { echo "$out" >&2; exit 1; }'
check "...KillMode=mixed: SIGTERM to watch.sh alone" has "$unit" "KillMode=mixed"
envs=() # its Environment= lines and ExecStart, as systemd would run them
while IFS= read -r e; do envs+=("$e"); done < <(sed -n 's/^Environment=//p' lode-watch.service)
read -r -a cmd <<< "$(sed -n 's/^ExecStart=//p' lode-watch.service)"
runs_watch unit env "${envs[@]}" "${cmd[@]}"
check "...with the unit's metrics and snapshots" test -s lode_cron.prom -a -d unit.kb.snapshots

"$PY" - "$PL/kubernetes/watch-sidecar.yaml" > side.txt << 'EOF'
import sys, yaml
docs = list(yaml.safe_load_all(open(sys.argv[1])))
assert len(docs) == 1, "one object"
d = docs[0]
pod = d["spec"]["template"]["spec"]
c = {x["name"]: x for x in pod["containers"]}
w = c["watch"]
vols = {v["name"]: v for v in pod["volumes"]}
mounts = {m["name"]: m for m in w["volumeMounts"]}
print("kind", d["apiVersion"], d["kind"], d["spec"]["replicas"], w["command"][0].endswith("/watch.sh"),
      "emptyDir" in vols["kb"], mounts["docs"].get("readOnly") is True,
      any(m["name"] == "kb" for m in c["query"]["volumeMounts"]),
      pod["terminationGracePeriodSeconds"] >= 60)
print("args", " ".join(w["args"]))
for e in w["env"]:
    print("env", "%s=%s" % (e["name"], e["value"]))
EOF
expect_eq "watch-sidecar.yaml parses: a Deployment of one replica, watch.sh beside a reader, the store an emptyDir both mount, docs read-only" \
    "kind apps/v1 Deployment 1 True True True True True" "$(grep '^kind' side.txt)"
mkdir -p side.kb
envs=()
while read -r _ e; do envs+=("${e//\/kb/$PWD/side.kb}"); done < <(grep '^env' side.txt)
read -r -a args <<< "$(sed -n 's/^args //p' side.txt | sed "s|/docs|$PWD/side.docs|; s|/kb|$PWD/side.kb|")"
runs_watch side env "${envs[@]}" "$PL/watch.sh" "${args[@]}"
check "...the store and its work folder on the shared volume" test -d side.kb/store -a -d side.kb/work

# ---- Airflow DAG, against a stub of Airflow ----
check "lode_ingest.py compiles" "$PY" -m py_compile "$PL/airflow/lode_ingest.py"
mkdir -p stub/airflow/models stub/airflow/operators
cat > stub/airflow/__init__.py << 'EOF'
TASKS = []
class DAG:
    def __init__(self, dag_id, **kw):
        self.dag_id, self.kw = dag_id, kw
    def __enter__(self):
        return self
    def __exit__(self, *a):
        return False
EOF
cat > stub/airflow/models/__init__.py << 'EOF'
import os
class Variable:
    @staticmethod
    def get(key, default_var=None):
        return os.environ.get(key.upper(), default_var)
EOF
touch stub/airflow/operators/__init__.py
cat > stub/airflow/operators/bash.py << 'EOF'
import airflow
def _edges(a, b):
    for x in (a if isinstance(a, list) else [a]):
        for y in (b if isinstance(b, list) else [b]):
            y.upstream.append(x.task_id)
    return b
class BashOperator:
    def __init__(self, task_id, bash_command, **kw):
        self.task_id, self.bash_command, self.upstream = task_id, bash_command, []
        airflow.TASKS.append(self)
    def __rshift__(self, other):
        return _edges(self, other)
    def __rrshift__(self, other):
        return _edges(other, self)
EOF
LODE_DOCS=$DOCS LODE_OUT=$PWD/airflow LODE_MODEL="" LODE_PIPELINES=$PL PYTHONPATH=$PWD/stub \
    "$PY" - "$PL/airflow/lode_ingest.py" > dag.txt << 'EOF'
import runpy, sys, airflow
runpy.run_path(sys.argv[1])
for t in airflow.TASKS:
    print(t.task_id, ",".join(t.upstream) or "-", t.bash_command.replace("\n", " "), sep="\t")
EOF
expect_eq "the DAG: 4 shard tasks, then check, then smoke_query" \
    "shard_0:- shard_1:- shard_2:- shard_3:- check:shard_0,shard_1,shard_2,shard_3 smoke_query:check" \
    "$(awk -F'\t' '{ printf "%s%s:%s", (NR > 1 ? " " : ""), $1, $2 }' dag.txt)"
st=""
while IFS=$'\t' read -r task _ cmd; do
    bash -c "$cmd" > "dag.$task.out" 2> "dag.$task.err"
    st="$st $task=$?"
done < dag.txt
expect_eq "...its commands, run here in order: all succeed" \
    " shard_0=0 shard_1=0 shard_2=0 shard_3=0 check=0 smoke_query=0" "$st"
lode-query -s airflow/kb.0 -s airflow/kb.1 -s airflow/kb.2 -s airflow/kb.3 --mode bm25 --no-text \
    < q.txt > airflow.hits 2> /dev/null
check "...its 4 shards answer as the single store" cmp -s single.hits airflow.hits

# ---- the Grafana dashboard names metrics that exist ----
G=$PL/grafana-lode.json
check "grafana-lode.json is JSON with panels and a Prometheus data source" \
    jqe '(.panels | length) > 4 and (.templating.list[0].query == "prometheus")' "$G"
mkdir -p docs prom && cp "$DOCS/guide.md" docs/
LODE_CRON_METRICS=prom "$PL/cron.sh" docs kb > cron.log 2>&1
jq -r '.panels[].targets[].expr' "$G" | grep -o 'lode_[a-z_]*' | sort -u > wanted
cat prom/*.prom | grep -v '^#' | grep -o '^lode_[a-z_]*' | sort -u > written
expect_eq "every metric the dashboard queries is written by cron.sh or lode-index" "" \
    "$(comm -23 wanted written | paste -sd' ')"
