"""What tests share: emulators, the bad-input corpus, test images, the repository's paths and the trained model."""
import os

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
REAL_SAMPLE = os.path.join(REPO_ROOT, "..", "shared", "data", "real_sample")
