#!/usr/bin/env python3
"""Covenant on Apache Spark: a log too large for one machine, reported on as
tenant shards by Spark's executors and merged into the report of one run.

    spark-submit covenant_spark.py --shards 64 -o report.json -o report.html s3a://audit-logs/2026/03/
    python3 covenant_spark.py --master 'local[*]' --shards 4 -o report.json logs/

The stages, each a function below:

1. ``read_events``: every input file goes whole to one task, which writes it
   back as schema v1 events with ``covenant convert`` (so every format,
   compression and mapping a report reads is read the same way here).
2. ``lineage_records``: the shared lineage that ``covenant split`` documents
   (README, "Sharding a large log"), derived with a window over each data
   item's history.
3. ``report_shards``: a shuffle by tenant into N partitions, each sorted by
   (time, id) and reported on by ``covenant report`` inside its task.
4. ``merge_parts``: ``covenant merge`` on the driver, into the ``-o``
   outputs, with its exit code.

Exit codes are ``covenant merge``'s (0, 1, 2, 3), and a shard whose report
failed gives its own (2 or 3; 3 when it crashed); nothing is written then.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlparse

from pyspark import SparkFiles
from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F

#: The exit code of a report whose rule could not finish, also given for a
#: shard whose report crashed: its verdict is missing.
EXIT_RULE_ERROR = 3
#: The exit code of bad input or usage: nothing was reported.
EXIT_BAD_INPUT = 2

#: The files a directory is searched for, as ``covenant report`` searches
#: one (a file named outright is read whatever its name).
LOG_FILE_GLOB = "*.{jsonl,json,jsonl.gz,json.gz,jsonl.zst,json.zst}"

#: The fields of an event the job itself reads; the rest travels in the line.
EVENT_FIELDS = (
    "id string, time string, tenant string, action string, "
    "data struct<id: string, tenant: string, sources: array<string>>"
)

#: What ``covenant merge`` takes for ``--format`` and ``--fail-on``, and the
#: output extensions it tells formats by.
REPORT_FORMATS = ("text", "json", "markdown", "html", "sarif", "csv", "junit")
SEVERITIES = ("info", "low", "medium", "high", "critical")
OUTPUT_EXTENSIONS = (".txt", ".json", ".md", ".html", ".sarif", ".csv", ".xml")

#: About how much converted text a task hands Spark at a time: whole
#: lines, so a chunk is longer by at most one line.
CHUNK_BYTES = 4 << 20

#: The shared lineage file's name, in every shard's report the same, so that
#: ``covenant merge`` sees one input read by every part.
LINEAGE_FILE = "lineage.jsonl"

#: What a task's failure message starts with, for the driver to find it in
#: Spark's error and exit with its code.
FAILURE_MARK = re.compile(r"\[covenant-spark exit (\d+)\] ([^\n]*)")


class JobFailed(Exception):
    """The job cannot give a whole report: why, and the exit code to give."""

    def __init__(self, code: int, message: str):
        super().__init__(message)
        self.code = code

    def marked(self) -> str:
        """The message as a task raises it, for the driver to recognise."""
        return f"[covenant-spark exit {self.code}] {self}"


@dataclass
class Job:
    """What every task needs, pickled to the executors with the closures."""

    shards: int
    #: The binary on executors: a path, or the name of a file shipped with
    #: the job (``SparkFiles``).
    covenant: str
    shipped_covenant: bool
    #: ``--input-format`` or ``--mapping`` for ``covenant convert``, the
    #: mapping as a path inside the shipped bundle.
    input_args: list[str] = field(default_factory=list)
    #: ``--policy`` and ``--waivers`` for each shard's report, as paths
    #: inside the shipped bundle.
    report_args: list[str] = field(default_factory=list)
    as_of: str | None = None
    bundle: str | None = None


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="covenant_spark.py",
        description="Report on a log as tenant shards on Spark, merged into one run's report.",
    )
    parser.add_argument("logs", nargs="+", metavar="LOGS",
                        help="files, directories or globs, on any file system Spark reads "
                             "(file:, hdfs:, s3a:, abfss:, gs:)")
    parser.add_argument("--shards", type=int, required=True, metavar="N",
                        help="tenant shards, from 1 to 1000: one Spark task each")
    parser.add_argument("-o", "--output", action="append", default=[], metavar="FILE",
                        help="a merged report to write on the driver, format by extension (repeatable); "
                             "standard output when none")
    parser.add_argument("--format", choices=REPORT_FORMATS, help="the format of every output, as for covenant merge")
    parser.add_argument("--fail-on", choices=SEVERITIES, help="as for covenant report")
    parser.add_argument("--as-of", metavar="TIME",
                        help="as for covenant report; defaults to the latest event's time over the whole log")
    parser.add_argument("--policy", metavar="FILE", help="policy file, shipped with the plugin files it names")
    parser.add_argument("--waivers", action="append", default=[], metavar="FILE", help="repeatable; shipped")
    parser.add_argument("--input-format", metavar="FORMAT", help="as for covenant report (default auto)")
    parser.add_argument("--mapping", metavar="FILE", help="as for covenant report; shipped")
    parser.add_argument("--covenant", default=shutil.which("covenant"), metavar="PATH",
                        help="the covenant binary on the driver, shipped to the executors (default: from PATH)")
    parser.add_argument("--executor-covenant", metavar="PATH",
                        help="the covenant binary's path on the executors' image, instead of shipping it")
    parser.add_argument("--master", help="Spark master for a plain python3 run (default local[*]); "
                                         "spark-submit's own --master otherwise")
    args = parser.parse_args(argv)
    if not 1 <= args.shards <= 1000:
        parser.error(f"--shards: a job writes from 1 to 1000 shards, not {args.shards}")
    if not args.covenant or not os.access(args.covenant, os.X_OK):
        parser.error("--covenant: no covenant binary found: give its path, or put it on PATH")
    if args.input_format and args.mapping:
        parser.error("--mapping and --input-format: give one")
    # Settled before any work, as covenant report settles its outputs: a
    # typo must not cost a cluster's hour.
    for output in args.output:
        if not args.format and output != "-" and not output.endswith(OUTPUT_EXTENSIONS):
            parser.error(f"-o {output}: the extension names no format "
                         f"({', '.join(OUTPUT_EXTENSIONS)}); or give --format")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    builder = SparkSession.builder.appName("covenant")
    if not sys.stderr.isatty():
        # The progress bar redraws itself with carriage returns, which in a
        # CI log run into the job's own last line.
        builder = builder.config("spark.ui.showConsoleProgress", "false")
    if args.master:
        builder = builder.master(args.master)
    spark = builder.getOrCreate()
    try:
        return run(spark, args)
    except JobFailed as failure:
        print(f"covenant-spark: {failure}", file=sys.stderr)
        return failure.code
    except Exception as error:  # Spark's errors carry the task's message
        found = FAILURE_MARK.search(str(error))
        if not found:
            raise
        print(f"covenant-spark: {found.group(2)}", file=sys.stderr)
        return int(found.group(1))
    finally:
        spark.stop()


def run(spark: SparkSession, args: argparse.Namespace) -> int:
    job = Job(
        shards=args.shards,
        covenant=args.executor_covenant or os.path.basename(args.covenant),
        shipped_covenant=not args.executor_covenant,
        as_of=args.as_of,
    )
    if job.shipped_covenant:
        spark.sparkContext.addFile(os.path.abspath(args.covenant))
    ship_bundle(spark, args, job)

    events = read_events(spark, job, args.logs).persist()
    refuse_duplicate_ids(events)
    # Both the id check and the lineage file read it: derive it once.
    lineage = lineage_records(events).persist()
    refuse_taken_lineage_ids(lineage, events)
    if job.as_of is None:
        job.as_of = latest_time(events)

    with tempfile.TemporaryDirectory(prefix="covenant-spark-") as work:
        lineage_path = os.path.join(work, LINEAGE_FILE)
        write_lineage(lineage, lineage_path)
        spark.sparkContext.addFile(lineage_path)
        parts = report_shards(events, job)
        return merge_parts(parts, args, work)


# --- what every task is given ------------------------------------------------


def ship_bundle(spark: SparkSession, args: argparse.Namespace, job: Job) -> None:
    """Ships the policy (with the plugin files it names, at the same paths
    relative to it), the waivers and the mapping as one archive, which
    Spark unpacks beside every task, so each shard reads the same bytes."""
    entries: list[tuple[Path, str]] = []
    if args.policy:
        policy = Path(args.policy)
        entries.append((policy, f"policy/{policy.name}"))
        for plugin in plugin_files(policy):
            entries.append((policy.parent / plugin, f"policy/{plugin}"))
        job.report_args += ["--policy", f"policy/{policy.name}"]
    for index, waivers in enumerate(map(Path, args.waivers)):
        entries.append((waivers, f"waivers/{index}/{waivers.name}"))
        job.report_args += ["--waivers", f"waivers/{index}/{waivers.name}"]
    if args.mapping:
        mapping = Path(args.mapping)
        entries.append((mapping, f"mapping/{mapping.name}"))
        job.input_args += ["--mapping", f"mapping/{mapping.name}"]
    elif args.input_format:
        job.input_args += ["--input-format", args.input_format]
    if not entries:
        return
    archive = Path(tempfile.mkdtemp(prefix="covenant-spark-files-")) / "covenant-files.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        for source, name in entries:
            if not source.is_file():
                raise JobFailed(EXIT_BAD_INPUT, f"{source}: no such file to ship to the executors")
            bundle.write(source, name)
    spark.sparkContext.addArchive(str(archive))
    job.bundle = archive.name


def plugin_files(policy: Path) -> list[PurePosixPath]:
    """The plugin files a policy names (paths relative to it), each of
    which must lie in the policy's folder, since that is what is shipped."""
    try:
        rules = tomllib.loads(policy.read_text(encoding="utf-8")).get("rule", [])
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise JobFailed(EXIT_BAD_INPUT, f"--policy {policy}: {error}") from error
    files = []
    for rule in rules:
        plugin = rule.get("plugin") if isinstance(rule, dict) else None
        if not isinstance(plugin, str) or plugin.startswith("builtin:"):
            continue  # covenant report says what is wrong with it
        path = PurePosixPath(plugin)
        if path.is_absolute() or ".." in path.parts:
            raise JobFailed(
                EXIT_BAD_INPUT,
                f"--policy {policy}: plugin {plugin} lies outside the policy's folder, "
                "which is what the job ships; move it there",
            )
        files.append(path)
    return files


def task_dir() -> str:
    """A task's own folder, on the executor's local disk (Spark's first
    local directory, else the system's temporary folder)."""
    local = os.environ.get("SPARK_LOCAL_DIRS", "").split(",")[0] or None
    return tempfile.mkdtemp(prefix="covenant-task-", dir=local)


def executor_covenant(job: Job) -> str:
    """The covenant binary on this executor, executable."""
    if not job.shipped_covenant:
        return job.covenant
    path = SparkFiles.get(job.covenant)
    if not os.access(path, os.X_OK):
        os.chmod(path, 0o755)
    return path


def link_bundle(job: Job, work: str) -> None:
    """Makes the shipped files appear at the relative paths the arguments
    name, inside the task's folder."""
    if job.bundle is None:
        return
    unpacked = SparkFiles.get(job.bundle)
    for entry in os.listdir(unpacked):
        os.symlink(os.path.join(unpacked, entry), os.path.join(work, entry))


def failure_text(process: subprocess.CompletedProcess, *replace: tuple[str, str]) -> str:
    """What a covenant run said on standard error, on one line."""
    text = process.stderr.decode("utf-8", "replace")
    for old, new in replace:
        text = text.replace(old, new)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return "; ".join(lines[-5:]) or "(nothing on standard error)"


def exit_status(process: subprocess.CompletedProcess) -> tuple[int, str]:
    """The job's exit code for a failed covenant run, and how it ended."""
    if process.returncode < 0:
        return EXIT_RULE_ERROR, f"was killed by signal {-process.returncode}"
    if process.returncode in (EXIT_BAD_INPUT, EXIT_RULE_ERROR):
        return process.returncode, f"exited {process.returncode}"
    return EXIT_RULE_ERROR, f"exited {process.returncode}"


# --- 1. read ---------------------------------------------------------------


def read_events(spark: SparkSession, job: Job, logs: list[str]) -> DataFrame:
    """Every event of the logs, as its schema v1 line and the fields the
    job shards and derives lineage by.

    A file on a ``file:`` path (a local disk in local mode; a volume every
    node mounts on a cluster) is read by ``covenant convert`` itself, as it
    streams, whatever its size. A file elsewhere (HDFS, object storage) is
    fetched through Spark's ``binaryFile`` source, which holds it whole in
    its task's memory first (at most 2 GiB)."""
    files = input_files(spark, logs)
    paths = [row.path for row in files.select("path").collect()]
    local = [unquote(urlparse(path).path) for path in paths if path.startswith("file:")]
    found = []
    if local:
        # A few tasks a core, each converting its files in one run.
        slices = min(len(local), 4 * spark.sparkContext.defaultParallelism)
        found.append(spark.sparkContext.parallelize(local, slices)
                     .mapPartitions(lambda paths: convert_paths(job, list(paths))))
    if len(local) < len(paths):
        fetched = files.where(~F.col("path").startswith("file:")).select("path", "content")
        found.append(fetched.rdd.mapPartitions(lambda rows: convert_fetched(job, rows)))
    if not found:
        raise JobFailed(EXIT_BAD_INPUT, f"no log files in {', '.join(logs)} (looked for {LOG_FILE_GLOB})")
    chunks = spark.sparkContext.union(found)
    # Python hands Spark a few megabytes of whole lines at a time, and the
    # JVM splits them: a Python object per line cost more than the rest
    # of the read.
    lines = (spark.createDataFrame(chunks.map(lambda chunk: (chunk,)), "chunk binary")
             .select(F.explode(F.split(F.decode("chunk", "UTF-8"), "\n")).alias("line"))
             .where(F.col("line") != ""))
    parsed = F.from_json("line", EVENT_FIELDS)
    return lines.select(
        "line",
        parsed["id"].alias("id"),
        parsed["time"].alias("time"),
        time_key(parsed["time"]).alias("t_key"),
        parsed["action"].alias("action"),
        # The tenant a finding is filed under, as split shards by it.
        F.coalesce(parsed["tenant"], parsed["data"]["tenant"]).alias("filed_under"),
        parsed["data"]["id"].alias("data_id"),
        parsed["data"]["tenant"].alias("data_tenant"),
        parsed["data"]["sources"].alias("sources"),
    )


def input_files(spark: SparkSession, logs: list[str]) -> DataFrame:
    """The input files, as Spark's ``binaryFile`` source lists them (whose
    content is read only if selected): a directory searched recursively
    for log files, a file named outright whatever its name."""
    jvm = spark.sparkContext._jvm
    conf = spark.sparkContext._jsc.hadoopConfiguration()
    folders, files = [], []
    for log in logs:
        path = jvm.org.apache.hadoop.fs.Path(log)
        matches = path.getFileSystem(conf).globStatus(path)
        if not matches:
            raise JobFailed(EXIT_BAD_INPUT, f"{log}: no such file or directory")
        for status in matches:
            (folders if status.isDirectory() else files).append(status.getPath().toString())
    reader = spark.read.format("binaryFile")
    found = []
    if folders:
        found.append(reader.option("recursiveFileLookup", "true")
                     .option("pathGlobFilter", LOG_FILE_GLOB).load(folders))
    if files:
        found.append(reader.load(files))
    result = found[0]
    for more in found[1:]:
        result = result.unionByName(more)
    return result


def convert_paths(job: Job, paths: list[str]):
    """Runs in a task: the files at ``paths``, on this executor's file
    system, converted by one ``covenant convert``."""
    work = task_dir()
    try:
        yield from convert(job, work, paths)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def convert_fetched(job: Job, rows):
    """Runs in a task: each fetched file written to the task's disk under
    its own name (so that its extension and first record tell its format,
    as for a report) and converted by ``covenant convert``."""
    for row in rows:
        work = task_dir()
        try:
            name = os.path.basename(urlparse(row.path).path) or "input"
            os.mkdir(os.path.join(work, "in"))
            source = os.path.join(work, "in", name)
            with open(source, "wb") as out:
                out.write(row.content)
            yield from convert(job, work, [source], (source, row.path))
        finally:
            shutil.rmtree(work, ignore_errors=True)


def convert(job: Job, work: str, sources: list[str], *rename: tuple[str, str]):
    """The events of ``sources``, converted in ``work``; ``rename`` puts
    the names the job was given back into covenant's error."""
    link_bundle(job, work)
    converted = os.path.join(work, "events.jsonl")
    process = subprocess.run(
        [executor_covenant(job), "convert", "-o", converted, *job.input_args, "--", *sources],
        cwd=work, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    if process.returncode != 0:
        code, ended = exit_status(process)
        said = failure_text(process, *rename)
        raise RuntimeError(JobFailed(code, f"covenant convert {ended}: {said}").marked())
    with open(converted, "rb") as events:
        while chunk := events.read(CHUNK_BYTES):
            yield chunk + events.readline()


def time_key(time):
    """A key that sorts as the instant: covenant writes times in UTC with a
    4-digit year and 0, 3, 6 or 9 fractional digits, so the seconds and the
    fraction padded to nanoseconds compare as text."""
    fraction = F.regexp_extract(time, r"\.([0-9]+)Z$", 1)
    return F.concat(F.substring(time, 1, 19), F.rpad(fraction, 9, "0"))


def refuse_duplicate_ids(events: DataFrame) -> None:
    """Refuses two events with one id and other content, as a report does.
    Exact repeats (a record delivered twice) are folded in their shard."""
    content = F.xxhash64("line")
    clash = (events.groupBy("id")
             .agg(F.min(content).alias("low"), F.max(content).alias("high"))
             .where(F.col("low") != F.col("high"))
             .select("id").limit(1).collect())
    if clash:
        raise JobFailed(EXIT_BAD_INPUT, f"duplicate event id `{clash[0].id}` with other content")


def latest_time(events: DataFrame) -> str | None:
    """The latest event's time, which one run over the log is taken as of
    (None for a log with no events)."""
    return events.agg(F.max_by("time", "t_key").alias("time")).collect()[0].time


# --- 2. lineage --------------------------------------------------------------


def lineage_records(events: DataFrame) -> DataFrame:
    """The lineage records of ``covenant split``: for each ``derive`` and
    each source, the latest event before it (in (time, id) order) that
    tags the source with a non-empty ``data.tenant``; when that event is
    filed under another tenant than the derive, one record restating the
    tag at its time. Columns: t_key, id, line."""
    tags = (events
            .where(F.col("data_id").isNotNull() & (F.coalesce("data_tenant", F.lit("")) != ""))
            .select(F.col("data_id").alias("item"), "t_key", "id",
                    # A derive's own tag comes after its sources are read.
                    F.lit(1).alias("kind"),
                    F.struct(F.col("id").alias("event"), "time", "t_key",
                             F.col("data_tenant").alias("tenant"), "filed_under").alias("tag"),
                    F.lit(None).cast("string").alias("reader")))
    reads = (events
             .where((F.col("action") == "derive") & F.col("sources").isNotNull())
             .select(F.explode("sources").alias("item"), "t_key", "id", F.lit(0).alias("kind"),
                     F.lit(None).cast(tags.schema["tag"].dataType).alias("tag"),
                     F.col("filed_under").alias("reader")))
    history = Window.partitionBy("item").orderBy("t_key", "id", "kind").rowsBetween(
        Window.unboundedPreceding, Window.currentRow)
    latest = (tags.unionByName(reads)
              .withColumn("latest", F.last("tag", ignorenulls=True).over(history))
              .where((F.col("kind") == 0) & F.col("latest").isNotNull()
                     & ~F.col("latest.filed_under").eqNullSafe(F.col("reader")))
              .select("item", "latest")
              # A tag is restated once, however many derives read it.
              .dropDuplicates(["item", "latest"]))
    record_id = F.concat(F.col("latest.event"), F.lit("#lineage"))
    record = F.struct(
        record_id.alias("id"),
        F.col("latest.time").alias("time"),
        F.lit("lineage").alias("action"),
        F.col("latest.tenant").alias("tenant"),
        F.struct(F.col("item").alias("id"), F.col("latest.tenant").alias("tenant")).alias("data"),
    )
    return latest.select(F.col("latest.t_key").alias("t_key"), record_id.alias("id"),
                         F.to_json(record).alias("line"))


def refuse_taken_lineage_ids(lineage: DataFrame, events: DataFrame) -> None:
    """Refuses a log with an event named as a lineage record must be."""
    taken = lineage.select("id").join(events.select("id"), "id", "left_semi").limit(1).collect()
    if taken:
        raise JobFailed(
            EXIT_BAD_INPUT,
            f"the log has an event with id `{taken[0].id}`, the id of a lineage record the job must write",
        )


def write_lineage(lineage: DataFrame, path: str) -> None:
    """Writes the lineage in (time, id) order on the driver, streamed a
    partition at a time, as the file every shard reads."""
    with open(path, "w", encoding="utf-8") as out:
        for row in lineage.orderBy("t_key", "id").select("line").toLocalIterator():
            out.write(row.line + "\n")


# --- 3. shards ---------------------------------------------------------------


def report_shards(events: DataFrame, job: Job) -> list[tuple[int, bytes]]:
    """Each tenant shard's JSON report: a shuffle by tenant (partition i is
    shard i: Spark's hash of the tenant, events with none in one shard),
    each partition sorted by (time, id) and reported on in its task.
    Results come back through Spark, so a retried task's part replaces the
    failed attempt's and none is counted twice."""
    shards = (events.select("filed_under", "t_key", "id", "line")
              .repartition(job.shards, "filed_under")
              .sortWithinPartitions("t_key", "id", "line")
              .rdd.mapPartitionsWithIndex(lambda index, rows: report_shard(job, index, rows)))
    return sorted(shards.collect())


def report_shard(job: Job, index: int, rows):
    """Runs in a task: writes shard ``index`` to the task's disk, folding
    exact repeats (which sort next to each other), and runs ``covenant
    report`` on it with the shared lineage. A shard with no events gives no
    part, but for shard 0, so that a log with none still gives a report."""
    work = task_dir()
    try:
        link_bundle(job, work)
        shard_name = f"shard-{index}.jsonl"
        written, previous = 0, None
        with open(os.path.join(work, shard_name), "w", encoding="utf-8") as shard:
            for row in rows:
                if row.line != previous:
                    shard.write(row.line + "\n")
                    written += 1
                    previous = row.line
        if written == 0 and index != 0:
            return
        shutil.copyfile(SparkFiles.get(LINEAGE_FILE), os.path.join(work, LINEAGE_FILE))
        command = [executor_covenant(job), "report", "--quiet", "--color", "never",
                   "--input-format", "covenant", "--format", "json", "-o", "part.json"]
        if job.as_of is not None:  # None: the log has no events
            command += ["--as-of", job.as_of]
        command += [*job.report_args, shard_name, LINEAGE_FILE]
        process = subprocess.run(command, cwd=work, stdin=subprocess.DEVNULL,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        # 0 and 1 are reports (1: findings); the merge gives the verdict.
        if process.returncode not in (0, 1):
            code, ended = exit_status(process)
            said = failure_text(process)
            raise RuntimeError(JobFailed(code, f"shard {index}: covenant report {ended}: {said}").marked())
        with open(os.path.join(work, "part.json"), "rb") as part:
            yield index, zlib.compress(part.read(), 1)
    finally:
        shutil.rmtree(work, ignore_errors=True)


# --- 4. merge ----------------------------------------------------------------


def merge_parts(parts: list[tuple[int, bytes]], args: argparse.Namespace, work: str) -> int:
    """``covenant merge`` of the parts on the driver, into the outputs."""
    paths = []
    for index, part in parts:
        path = os.path.join(work, f"part-{index}.json")
        with open(path, "wb") as out:
            out.write(zlib.decompress(part))
        paths.append(path)
    command = [args.covenant, "merge"]
    for output in args.output:
        command += ["-o", output]
    if args.format:
        command += ["--format", args.format]
    if args.fail_on:
        command += ["--fail-on", args.fail_on]
    return subprocess.run(command + paths, stdin=subprocess.DEVNULL).returncode


if __name__ == "__main__":
    sys.exit(main())
