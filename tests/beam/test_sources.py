"""pipelines.sources on Beam's TestPipeline."""
import os

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.testing.test_pipeline import TestPipeline as BeamTestPipeline  # not collected as a test class
from apache_beam.testing.util import assert_that, equal_to

from pipelines.sources import HuggingFaceSource, read_source
from tests.support.images import image_bytes


def test_a_hub_source_reads_the_columns_and_labels_its_block_names(tmp_path):
    table = pa.table({
        "picture": [{"bytes": image_bytes(i), "path": f"p{i}.png"} for i in range(3)],
        "kind": pa.array([7, 8, 7], pa.int64()),
    })
    pq.write_table(table, tmp_path / "rows.parquet")
    source = HuggingFaceSource(data_files=str(tmp_path / "rows.parquet"), image_column="picture",
                               label_column="kind", label_map={7: "chart", 8: "non_chart"})
    with BeamTestPipeline() as p:
        records = p | read_source(source) | beam.Map(lambda r: (os.path.basename(r.uri), r.label, r.data))
        assert_that(records, equal_to([
            ("p0.png", "chart", image_bytes(0)), ("p1.png", "non_chart", image_bytes(1)),
            ("p2.png", "chart", image_bytes(2)),
        ]))
