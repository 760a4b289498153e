"""in_background(threads=N): the producer trains on N torch threads, every other thread keeps its count."""
import threading

import torch

from lenet.background import in_background


def test_the_producer_gets_its_threads_and_the_rest_keep_theirs():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        def make():
            yield torch.get_num_threads()

        seen = [n for batch in in_background(make, nice=0, threads=2) for n in batch]
        assert seen == [2]  # the producer ran at 2
        assert torch.get_num_threads() == 1  # the caller is back at 1 ...
        later = []
        t = threading.Thread(target=lambda: later.append(torch.get_num_threads()))
        t.start()
        t.join()
        assert later == [1]  # ... and so is a thread started afterwards
    finally:
        torch.set_num_threads(before)


def test_without_threads_nothing_changes():
    before = torch.get_num_threads()
    seen = [n for batch in in_background(lambda: iter([torch.get_num_threads()]), nice=0) for n in batch]
    assert torch.get_num_threads() == before and len(seen) == 1
