"""An Airflow DAG of BashOperators that rebuilds a sharded lode store nightly.

    shard_0 .. shard_N-1  (pipelines/shard.sh K/N on any worker; in parallel)
      -> check            (lode-index --check of every published shard)
      -> smoke_query      (lode-query over all shards: every query answered)

Copy this file into the DAG folder and set the Airflow Variables
lode_docs, lode_out, lode_model (may be empty) and lode_pipelines (where
`make install` put the pipelines: PREFIX/share/lode/pipelines). The shards
are built on the workers' local disks and published to lode_out, which must
be shared storage; query hosts copy them to their own disks.

Run here: nothing under Airflow (it is not a Debian package); the file was
compiled with Python 3 and its tasks and commands were checked
(tests/e2e/schedulers.sh). The commands it runs are pipelines/shard.sh,
lode-index and lode-query, which the tests run.
"""

from datetime import datetime, timedelta

from airflow import DAG
from airflow.models import Variable
from airflow.operators.bash import BashOperator

SHARDS = 4

default_args = {
    "retries": 2,
    "retry_delay": timedelta(minutes=5),
}

with DAG(
    dag_id="lode_ingest",
    description="Rebuild the sharded lode store from the document share",
    schedule="0 2 * * *",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args=default_args,
    tags=["lode"],
) as dag:
    docs = Variable.get("lode_docs", default_var="/srv/docs")
    out = Variable.get("lode_out", default_var="/srv/lode-shards")
    model = Variable.get("lode_model", default_var="")
    pipelines = Variable.get("lode_pipelines", default_var="/usr/local/share/lode/pipelines")

    # shard.sh exits 1 when some documents failed: the shard is published
    # and the task succeeds with a warning in its log; 2 or more fail it.
    shards = [
        BashOperator(
            task_id=f"shard_{k}",
            bash_command=(
                f'"{pipelines}/shard.sh" {k}/{SHARDS} "{docs}" "{out}" '
                + (f'"{model}"' if model else "")
                + "; s=$?; [ $s -le 1 ] || exit $s"
            ),
        )
        for k in range(SHARDS)
    ]

    # LMDB is read from local disk only: both checks work on copies
    copy = (
        't=$(mktemp -d) && trap \'rm -rf "$t"\' EXIT && '
        + " && ".join(f'cp -R "{out}/kb.{k}" "$t/"' for k in range(SHARDS))
        + " && "
    )
    check = BashOperator(
        task_id="check",
        bash_command=copy
        + " && ".join(f'lode-index -s "$t/kb.{k}" --check' for k in range(SHARDS)),
    )

    query_args = " ".join(f'-s "$t/kb.{k}"' for k in range(SHARDS))
    smoke_query = BashOperator(
        task_id="smoke_query",
        bash_command=copy
        + f"echo 'which documents does the collection hold' | lode-query {query_args} --mode bm25 -k 3 "
        "| jq -e '.hits | length > 0'",
    )

    shards >> check >> smoke_query
