"""`make demo`: the whole job end to end on synthetic images, under $BASE_DIR (default: artifacts/).

ingest (configs/ingest_demo.yaml) -> train (the chart-cnn recipe) -> label a fresh folder of
synthetic images -> print a table of the results and how to serve the model.
"""
from typing import Optional

from apache_beam.options.pipeline_options import PipelineOptions

from core import results, runs, storage
from models.run import LoadedRun
from pipelines import cli, ingest, label, options, train

DEMO_CONFIG = options.shipped_config("ingest_demo.yaml")
DEMO_MODEL = "chart-cnn"  # the real-image recipe (benchmarks/real_accuracy.py)
UNSEEN_SEED = 7  # the labelled folder is rendered from another seed than the training data
UNSEEN_SIZE = 24


def run(argv: Optional[list[str]] = None) -> None:
    args = options.parser("demo", __doc__, beam=False).parse_args(argv)
    from models import trainer
    from models.spec import load_model_spec
    from synthetic.generate import write_demo_folder

    base = cli.base_dir()
    data_dir = storage.join(base, "ingest")
    ingest.run(["--runner=DirectRunner", f"--config={DEMO_CONFIG}", f"--output_dir={data_dir}",
                *(["--debug"] if args.debug else [])])
    summary = trainer.run(load_model_spec(train.DEFAULT_MODEL_CONFIG, DEMO_MODEL), data_dir, base)
    inbox = storage.join(base, "demo_inbox")
    write_demo_folder(inbox, UNSEEN_SIZE, seed=UNSEEN_SEED)
    output = storage.join(base, "labels", "demo")
    opts = label.LabelOptions(inbox, output, sort_into=storage.join(base, "sorted"), overwrite=True)
    label.check_options(opts)
    model = LoadedRun.open(storage.join(runs.model_type_dir(base, DEMO_MODEL), runs.LATEST_FILE))
    label.label(opts, model, PipelineOptions(["--runner=DirectRunner"]))
    labelled = results.read_results(output)[0]
    print_table(labelled)
    accuracy = summary["test_metrics"]["accuracy"]
    print(f"\nReports: {storage.join(base, 'reports', DEMO_MODEL)} (test accuracy {accuracy:.3f})")
    print(f"Model:   {summary['model_dir']}")
    print(f"Labels:  {output}-*.jsonl; images sorted into {storage.join(base, 'sorted')}/chart|non_chart|review")
    example = sorted(r["uri"] for r in labelled)[0]
    print(
        f"\nServe it (REST API and a web page at http://127.0.0.1:8008/):\n"
        f"  .venv/bin/python -m pipelines.serve --model_dir {summary['model_dir']} --allowed_root {inbox}\n"
        f"  curl -X POST http://127.0.0.1:8008/predict -H 'Content-Type: application/json' "
        f"-d '{{\"image_path\": \"{example}\"}}'"
    )


def print_table(results: list[dict]) -> None:
    """uri, truth (from the folder name), label, score, review: one row per image."""
    print(f"\n{'image':<28} {'truth':<10} {'label':<10} {'score':>6}  review")
    correct = 0
    for r in sorted(results, key=lambda r: r["uri"]):
        truth = r["uri"].rstrip("/").split("/")[-2]
        correct += truth == r["label"]
        review = "yes" if r["review"] else ""
        print(f"{r['uri'].split('/')[-1]:<28} {truth:<10} {r['label']:<10} {r['score']:>6.3f}  {review}")
    reviewed = sum(r["review"] for r in results)
    print(f"{correct}/{len(results)} labelled as their folder says; {reviewed} in the review band")


if __name__ == "__main__":
    cli.main("pipelines.demo")
