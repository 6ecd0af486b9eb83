#!/usr/bin/python3
"""t-SNE: Pretext against scikit-learn on the same input, in one go.

    /usr/bin/python3 tests/bench/bench_tsne_sklearn.py [--build build] [--n 10000]

Input: the first N Fashion-MNIST test images as bench-eval's 128-d features
(fixed random projection 784 -> 128 + ReLU, GRand seed 1). Both sides:
perplexity 30, Barnes-Hut theta (angle) 0.5, early exaggeration 12 for 250
iterations, learning rate max(N / 12 / 4, 50), PCA initialization, 1000
iterations, 2 threads.

KL divergences: each library's own figure, and both final layouts scored
by Pretext's exact KL(P || Q) against the same P (so the comparison does not
depend on either library's approximation of Z).
"""
import argparse
import json
import os
import subprocess
import tempfile
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "2")
os.environ.setdefault("OMP_NUM_THREADS", "2")

import numpy as np  # noqa: E402
from sklearn.manifold import TSNE  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--build", default="build")
ap.add_argument("--n", type=int, default=10000)
args = ap.parse_args()
bench = os.path.join(args.build, "tests/bench/bench-eval")

with tempfile.TemporaryDirectory() as tmp:
    out = subprocess.run([bench, "tsne", "--n", str(args.n), "--threads", "2", "--dump", tmp],
                         check=True, capture_output=True, text=True).stdout
    ours = json.loads(out.strip().splitlines()[-1])
    x = np.fromfile(os.path.join(tmp, "tsne_x.f32"), dtype=np.float32).reshape(args.n, 128)

    t0 = time.perf_counter()
    c0 = time.process_time()
    tsne = TSNE(n_components=2, perplexity=30.0, early_exaggeration=12.0,
                learning_rate="auto", n_iter=1000, init="pca", angle=0.5,
                method="barnes_hut", random_state=0, n_jobs=2)
    emb = tsne.fit_transform(x).astype(np.float32)
    sk_seconds = time.perf_counter() - t0
    sk_cpu = time.process_time() - c0
    path = os.path.join(tmp, "tsne_sklearn.f32")
    emb.tofile(path)
    out = subprocess.run([bench, "tsne-kl", "--n", str(args.n), "--threads", "2", "--layout", path],
                         check=True, capture_output=True, text=True).stdout
    sk_kl_ours = json.loads(out.strip().splitlines()[-1])["kl"]

result = {
    "n": args.n,
    "pretext_seconds": ours["total_seconds"] + ours["affinity_seconds"],
    "pretext_affinity_seconds": ours["affinity_seconds"],
    "pretext_cpu_seconds": ours["cpu_seconds_all"],
    "pretext_kl_exact": ours["kl"],
    "sklearn_seconds": round(sk_seconds, 2),
    "sklearn_cpu_seconds": round(sk_cpu, 2),
    "sklearn_kl_own": float(tsne.kl_divergence_),
    "sklearn_kl_exact_same_P": sk_kl_ours,
    "kl_ratio_pretext_over_sklearn": round(ours["kl"] / sk_kl_ours, 4),
}
print(json.dumps(result, indent=1))
