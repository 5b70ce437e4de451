#!/usr/bin/python3
"""PyTorch reference throughput for the paper's net (DESIGN §8), one JSON line out.

    /usr/bin/python3 testdata/torch/bench_torch.py --batch-size 128
    /usr/bin/python3 testdata/torch/bench_torch.py --batch-size 43 --loss sse --optimizer sgdm
    /usr/bin/time -v /usr/bin/python3 testdata/torch/bench_torch.py   # external peak RSS

Training: --epochs measured epochs (after --warmup epochs) of --images random
images (uniform [0,1], random labels) in mini-batches of --batch-size, the last
partial batch dropped; each step is forward, loss, backward, optimizer step, as
make_fixtures.py trains. Reported: per-epoch images/s and their median.
Inference: eval mode, no_grad, batches of --infer-batch, softmax + argmax;
median of --infer-reps timed passes over --infer-images images.
Peak RSS is this process's ru_maxrss (what `/usr/bin/time -v` reports as
"Maximum resident set size"). Machine must be otherwise idle to mean anything.
"""

import argparse
import json
import os
import platform
import re
import resource
import statistics
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_fixtures import PaperNet  # noqa: E402  (the same net as the fixtures)


def loss_fn(name, logits, y):
    if name == "crossentropy":
        return F.cross_entropy(logits, y)
    p = torch.softmax(logits, dim=1)
    t = F.one_hot(y, 10).to(p.dtype)
    if name == "mae":  # (1/N) sum_i (1/C) sum_j |Y-T|
        return (p - t).abs().mean()
    if name == "sse":  # (1/N) sum_i sum_j (Y-T)^2
        return ((p - t) ** 2).sum(1).mean()
    raise ValueError(name)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--loss", choices=["crossentropy", "mae", "sse"], default="crossentropy")
    ap.add_argument("--optimizer", choices=["adam", "sgdm"], default="adam")
    ap.add_argument("--lr", type=float, default=0.01)
    ap.add_argument("--images", type=int, default=7500, help="images per training epoch")
    ap.add_argument("--epochs", type=int, default=5, help="measured epochs")
    ap.add_argument("--warmup", type=int, default=1, help="untimed epochs first")
    ap.add_argument("--infer-batch", type=int, default=256)
    ap.add_argument("--infer-images", type=int, default=10240)
    ap.add_argument("--infer-reps", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()

    load_before = os.getloadavg()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    x = torch.rand(args.images, 1, 28, 28)
    y = torch.randint(0, 10, (args.images,))
    model = PaperNet(x.mean(0))
    torch.nn.init.xavier_uniform_(model.conv1.weight)
    torch.nn.init.zeros_(model.conv1.bias)
    torch.nn.init.xavier_uniform_(model.fc1.weight)
    torch.nn.init.zeros_(model.fc1.bias)
    if args.optimizer == "adam":
        opt = torch.optim.Adam(model.parameters(), lr=args.lr, weight_decay=1e-4)
    else:
        opt = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9, weight_decay=1e-4)

    steps = args.images // args.batch_size
    rates = []
    for e in range(args.warmup + args.epochs):
        model.train()
        perm = torch.randperm(args.images)
        t0 = time.perf_counter()
        for s in range(steps):
            idx = perm[s * args.batch_size:(s + 1) * args.batch_size]
            loss = loss_fn(args.loss, model.logits(x[idx]), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        dt = time.perf_counter() - t0
        if e >= args.warmup:
            rates.append(steps * args.batch_size / dt)

    model.eval()
    xi = torch.rand(args.infer_images, 1, 28, 28)
    irates = []
    with torch.no_grad():
        for r in range(args.infer_reps + 1):  # first pass is a warm-up
            t0 = time.perf_counter()
            n = 0
            for i in range(0, args.infer_images - args.infer_batch + 1, args.infer_batch):
                p = model(xi[i:i + args.infer_batch])
                p.argmax(1)
                n += args.infer_batch
            dt = time.perf_counter() - t0
            if r > 0:
                irates.append(n / dt)

    print(json.dumps({
        "system": "pytorch",
        "torch": torch.__version__,
        "blas": (re.search(r"BLAS_INFO=(\w+)", torch.__config__.show()) or [None, "?"])[1],
        "threads": args.threads,
        "dtype": "float32",
        "loss": args.loss, "optimizer": args.optimizer, "lr": args.lr,
        "batch_size": args.batch_size, "images_per_epoch": steps * args.batch_size,
        "warmup_epochs": args.warmup,
        "train_images_per_s": round(statistics.median(rates), 1),
        "train_images_per_s_epochs": [round(r, 1) for r in rates],
        "infer_batch": args.infer_batch,
        "infer_images_per_s": round(statistics.median(irates), 1),
        "infer_images_per_s_reps": [round(r, 1) for r in irates],
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        # 1-minute load average before and after: above ~0.5 the figures are not an idle machine's.
        "loadavg_1m": [round(load_before[0], 2), round(os.getloadavg()[0], 2)],
    }))


if __name__ == "__main__":
    main()
