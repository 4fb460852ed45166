"""seq2seq_ext.nmt.data: vocab, tokenizers, TSV pairs, task generators, splits,
collate, the bucketing sampler and make_loader."""

import json

import pytest
import torch

from seq2seq_ext.errors import InputError
from seq2seq_ext.nmt.data import (
    ENG_FRA_SAMPLE,
    EOS_INDEX,
    PAD_INDEX,
    SOS_INDEX,
    UNK_INDEX,
    BucketBatchSampler,
    Seq2SeqDataset,
    Tokenizer,
    Vocab,
    addition_pairs,
    arithmetic_pairs,
    char_tokenize,
    collate,
    detokenize,
    make_loader,
    read_tsv_pairs,
    reverse_words_pairs,
    task_pairs,
    task_splits,
    train_valid_test_split,
    word_tokenize,
)

# ---------------------------------------------------------------- vocab


def test_vocab_specials_and_order():
    vocab = Vocab.build([["b", "a", "c"], ["a", "b"], ["a"]])
    assert vocab.itos == ["<pad>", "<sos>", "<eos>", "<unk>", "a", "b", "c"]
    assert (PAD_INDEX, SOS_INDEX, EOS_INDEX, UNK_INDEX) == (0, 1, 2, 3)
    assert len(vocab) == 7 and "a" in vocab and "z" not in vocab


def test_vocab_min_freq_and_max_size():
    lists = [["a", "a", "a", "b", "b", "c"]]
    assert Vocab.build(lists, min_freq=2).itos[4:] == ["a", "b"]
    assert Vocab.build(lists, max_size=5).itos[4:] == ["a"]
    with pytest.raises(ValueError, match="max_size"):
        Vocab.build(lists, max_size=3)


def test_vocab_ties_broken_alphabetically():
    assert Vocab.build([["z", "y", "x"]]).itos[4:] == ["x", "y", "z"]


def test_encode_decode_round_trip():
    vocab = Vocab.build([["hello", "world"]])
    ids = vocab.encode(["hello", "world"], add_sos=True)
    assert ids[0] == SOS_INDEX and ids[-1] == EOS_INDEX
    assert vocab.decode(ids + [PAD_INDEX, PAD_INDEX]) == ["hello", "world"]
    assert vocab.decode(torch.tensor(ids)) == ["hello", "world"]
    assert vocab.encode(["hello"], add_eos=False) == [vocab.stoi["hello"]]


def test_decode_stops_at_eos_and_keeps_specials_when_asked():
    vocab = Vocab.build([["a", "b"]])
    a, b = vocab.stoi["a"], vocab.stoi["b"]
    assert vocab.decode([a, EOS_INDEX, b]) == ["a"]
    assert vocab.decode([SOS_INDEX, a, EOS_INDEX, PAD_INDEX], strip_special=False) == [
        "<sos>",
        "a",
        "<eos>",
        "<pad>",
    ]
    with pytest.raises(ValueError, match="outside"):
        vocab.decode([len(vocab)])


def test_unknown_tokens_become_unk():
    vocab = Vocab.build([["a"]])
    assert vocab.encode(["a", "never-seen"]) == [vocab.stoi["a"], UNK_INDEX, EOS_INDEX]
    assert vocab.decode([UNK_INDEX]) == ["<unk>"]


def test_vocab_rejects_duplicates():
    with pytest.raises(ValueError, match="duplicate"):
        Vocab(["a", "a"])
    with pytest.raises(ValueError, match="duplicate"):
        Vocab(["<pad>"])


def test_vocab_save_load(tmp_path):
    vocab = Vocab.build([["été", "chat", "chat"]])
    vocab.save(tmp_path / "v.json")
    loaded = Vocab.load(tmp_path / "v.json")
    assert loaded.itos == vocab.itos and loaded.stoi == vocab.stoi


@pytest.mark.parametrize(
    "content, message",
    [
        ("not json at all", "not a vocab file"),
        (json.dumps(["<pad>", "<sos>"]), "is not a vocab"),
        (json.dumps({"format": "other", "tokens": []}), "is not a vocab"),
        (json.dumps({"format": "seq2seq_ext.vocab", "version": 99, "tokens": []}), "version"),
        (json.dumps({"format": "seq2seq_ext.vocab", "version": 1, "tokens": ["a"]}), "tokens"),
    ],
)
def test_vocab_load_bad_file(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        Vocab.load(path)


# ---------------------------------------------------------------- tokenize


def test_word_tokenize():
    assert word_tokenize("Hello, world!", lowercase=True) == ["hello", ",", "world", "!"]
    assert word_tokenize("Hello, world!") == ["Hello", ",", "world", "!"]
    assert word_tokenize("  J'aime l'été (beaucoup).  ") == [
        "J'aime",
        "l'été",
        "(",
        "beaucoup",
        ")",
        ".",
    ]
    assert word_tokenize("") == []


def test_char_tokenize():
    assert char_tokenize("Ab c") == ["A", "b", " ", "c"]
    assert char_tokenize("Ab", lowercase=True) == ["a", "b"]


def test_detokenize():
    assert detokenize(["hello", ",", "world", "!"]) == "hello, world!"
    assert detokenize(["a", "(", "b", ")", "."]) == "a (b)."
    assert detokenize(word_tokenize("It's 5% more; really?")) == "It's 5% more; really?"
    assert detokenize([]) == ""


# ---------------------------------------------------------------- TSV pairs


def write(tmp_path, text):
    path = tmp_path / "pairs.tsv"
    path.write_text(text, encoding="utf-8")
    return path


def test_read_tsv_pairs_takes_two_columns_and_skips_only_blank_lines(tmp_path):
    path = write(
        tmp_path,
        "Go.\tVa !\tCC-BY 2.0 (France) Attribution: tatoeba.org\n\n   \n Hi. \t Salut. \r\n",
    )
    assert read_tsv_pairs(path) == [("Go.", "Va !"), ("Hi.", "Salut.")]


def test_read_tsv_pairs_reverse_and_max_pairs(tmp_path):
    path = write(tmp_path, "a\tA\nb\tB\nc\tC\n")
    assert read_tsv_pairs(path, reverse=True) == [("A", "a"), ("B", "b"), ("C", "c")]
    assert read_tsv_pairs(path, max_pairs=2) == [("a", "A"), ("b", "B")]


@pytest.mark.parametrize(
    "content,message",
    [
        (b"a\tA\n\nno tab here\n", r"pairs.tsv, line 3: no tab; expected source<TAB>target"),
        (b"a\tA\n\tonly target\n", r"pairs.tsv, line 2: empty source"),
        (b"only source\t  \n", r"pairs.tsv, line 1: empty target"),
        (b"a\tA\ncaf\xe9\tcoffee\n", r"pairs.tsv, line 2: not UTF-8 \(byte 0xe9 at byte 4"),
        (b"\n  \n", r"pairs.tsv: no sentence pair found"),
        (b"", r"pairs.tsv: no sentence pair found"),
    ],
    ids=["no tab", "empty source", "empty target", "latin-1 byte", "blank", "empty"],
)
def test_read_tsv_pairs_names_the_bad_line(tmp_path, content, message):
    path = tmp_path / "pairs.tsv"
    path.write_bytes(content)
    with pytest.raises(InputError, match=message):
        read_tsv_pairs(path)


def test_read_tsv_pairs_missing_file(tmp_path):
    with pytest.raises(InputError, match="missing.tsv: cannot read the file"):
        read_tsv_pairs(tmp_path / "missing.tsv")


def test_read_tsv_pairs_accepts_a_byte_order_mark(tmp_path):
    path = tmp_path / "pairs.tsv"
    path.write_bytes("\ufeffa\tA\n".encode())
    assert read_tsv_pairs(path) == [("a", "A")]


def test_shipped_sample():
    pairs = read_tsv_pairs(ENG_FRA_SAMPLE)
    assert 400 <= len(pairs) <= 600
    assert len(set(pairs)) == len(pairs)
    assert ("I have a cat.", "J'ai un chat.") in pairs


def test_a_split_that_comes_out_empty_is_an_error(tmp_path):
    path = write(tmp_path, "a\tA\nb\tB\n")
    options = dict(task="tsv", examples=0, seed=0, data=str(path), max_pairs=None, tokenizer="word")
    with pytest.raises(InputError, match="2 sentence pairs are too few to split"):
        task_splits(options)
    assert (
        len(task_pairs(options, Tokenizer("word"))) == 2
    )  # all of them, as evaluate --data reads them


# ---------------------------------------------------------------- tasks


def test_addition_pairs():
    pairs = addition_pairs(200, digits=3, seed=1)
    assert pairs == addition_pairs(200, digits=3, seed=1)
    assert pairs != addition_pairs(200, digits=3, seed=2)
    for source, target in pairs:
        a, b = "".join(source).split("+")
        assert len(a) == len(b) == 3
        assert int("".join(target)) == int(a) + int(b)
        assert "".join(target) == str(int(a) + int(b))


def test_reverse_words_pairs():
    pairs = reverse_words_pairs(100, min_words=2, max_words=5, words=7, seed=3)
    assert pairs == reverse_words_pairs(100, min_words=2, max_words=5, words=7, seed=3)
    for source, target in pairs:
        assert target == list(reversed(source))
        assert 2 <= len(source) <= 5
        assert set(source) <= {f"w{i}" for i in range(7)}
    assert {len(s) for s, _ in pairs} == {2, 3, 4, 5}
    with pytest.raises(ValueError, match="need 1 <= min_words <= max_words"):
        reverse_words_pairs(1, min_words=4, max_words=3)


def value(tokens):
    """['NEGATIVE', '0', '7'] -> -7."""
    sign = {"POSITIVE": 1, "NEGATIVE": -1}[tokens[0]]
    return sign * int("".join(tokens[1:]))


def test_arithmetic_pairs():
    pairs = arithmetic_pairs(300, digits=2, seed=4)
    assert pairs == arithmetic_pairs(300, digits=2, seed=4)
    for source, target in pairs:
        assert len(source) == 7 and len(target) == 3
        a, operation, b = value(source[:3]), source[3], value(source[4:])
        assert value(target) == (a + b if operation == "add" else a - b)
    assert {source[3] for source, _ in pairs} == {"add", "subtract"}
    assert arithmetic_pairs(5, operations=["add"], seed=0)[0][0][3] == "add"


def test_arithmetic_format_of_the_seed():
    """Like the seed's BOS POSITIVE 04 add NEGATIVE 11 EOS -> BOS NEGATIVE 07 EOS:
    a sign token, then the zero-padded digits one per token."""
    pairs = arithmetic_pairs(2000, digits=2, seed=0)
    signs = {"POSITIVE", "NEGATIVE"}
    for source, target in pairs:
        assert {source[0], source[4], target[0]} <= signs
        assert all(len(t) == 1 and t.isdigit() for t in source[1:3] + source[5:] + target[1:])
    assert any(source[1] == "0" and source[2] != "0" for source, _ in pairs)
    zero = [t for _, t in pairs if value(t) == 0]
    assert zero and all(t == ["POSITIVE", "0", "0"] for t in zero)


def test_split_disjoint_and_deterministic():
    pairs = reverse_words_pairs(500, min_words=1, max_words=2, words=4, seed=0)  # many repeats
    train, valid, test = train_valid_test_split(pairs, (0.8, 0.1, 0.1), seed=5)
    keys = [{(tuple(s), tuple(t)) for s, t in split} for split in (train, valid, test)]
    assert not (keys[0] & keys[1] or keys[0] & keys[2] or keys[1] & keys[2])
    assert sum(len(split) for split in (train, valid, test)) == len(set.union(*keys))
    assert set.union(*keys) == {(tuple(s), tuple(t)) for s, t in pairs}
    assert (train, valid, test) == tuple(train_valid_test_split(pairs, (0.8, 0.1, 0.1), seed=5))


def test_split_sizes():
    pairs = addition_pairs(1000, digits=4, seed=0)
    unique = len({tuple(map(tuple, p)) for p in pairs})
    train, valid, test = train_valid_test_split(pairs, (0.8, 0.1, 0.1), seed=0)
    assert len(train) + len(valid) + len(test) == unique
    assert abs(len(valid) - unique / 10) <= 1
    with pytest.raises(ValueError, match="sum to 1"):
        train_valid_test_split(pairs, (0.8, 0.1))


# ---------------------------------------------------------------- collate


def test_collate_shapes_padding_mask_lengths():
    batch = collate([([5, 6, EOS_INDEX], [7]), ([5, EOS_INDEX], [7, 8, 9])])
    assert batch.src.tolist() == [[5, 6, 2], [5, 2, 0]]
    assert batch.src_lengths.tolist() == [3, 2]
    assert batch.src_mask.tolist() == [[True, True, True], [True, True, False]]
    assert batch.tgt.tolist() == [[1, 7, 2, 0, 0], [1, 7, 8, 9, 2]]
    assert batch.tgt_lengths.tolist() == [3, 5]
    for tensor in (batch.src, batch.src_lengths, batch.tgt, batch.tgt_lengths):
        assert tensor.dtype == torch.int64
    assert batch.src_mask.dtype == torch.bool
    moved = batch.to("cpu")
    assert torch.equal(moved.tgt, batch.tgt)


def test_collate_other_pad_index():
    batch = collate([([5], []), ([5, 6], [])], pad_index=9)
    assert batch.src.tolist() == [[5, 9], [5, 6]]
    assert batch.tgt.tolist() == [[1, 2], [1, 2]]
    assert batch.src_mask.tolist() == [[True, False], [True, True]]


# ---------------------------------------------------------------- sampler


def epoch_batches(sampler, epoch):
    sampler.set_epoch(epoch)
    return list(sampler)


@pytest.mark.parametrize("shuffle", [True, False])
@pytest.mark.parametrize("n", [0, 1, 37, 1000])
def test_sampler_covers_every_index_once(n, shuffle):
    lengths = [(i * 7919) % 23 for i in range(n)]
    sampler = BucketBatchSampler(lengths, batch_size=8, shuffle=shuffle, seed=0, chunk_size=64)
    batches = list(sampler)
    assert len(batches) == len(sampler)
    assert sorted(i for b in batches for i in b) == list(range(n))
    assert all(1 <= len(b) <= 8 for b in batches)


def test_sampler_groups_similar_lengths():
    lengths = [(i * 7919) % 50 for i in range(2000)]
    sampler = BucketBatchSampler(lengths, batch_size=16, seed=0)
    spread = [max(lengths[i] for i in b) - min(lengths[i] for i in b) for b in sampler]
    assert sum(spread) / len(spread) < 2  # random batches of 16 would spread ~45


def test_sampler_reproducible_per_seed_and_epoch():
    lengths = list(range(300))
    make = lambda seed: BucketBatchSampler(lengths, batch_size=10, seed=seed, chunk_size=50)
    assert epoch_batches(make(0), 3) == epoch_batches(make(0), 3)
    assert epoch_batches(make(0), 3) != epoch_batches(make(0), 4)
    assert epoch_batches(make(0), 3) != epoch_batches(make(1), 3)


def test_sampler_drop_last():
    sampler = BucketBatchSampler(list(range(35)), batch_size=8, drop_last=True)
    batches = list(sampler)
    assert len(batches) == len(sampler) == 4 and all(len(b) == 8 for b in batches)


@pytest.mark.parametrize("num_replicas", [2, 3])
def test_sampler_shards_disjoint_across_ranks(num_replicas):
    lengths = [i % 13 for i in range(240)]  # 30 batches of 8: divisible by 2 and 3
    shards = [
        list(BucketBatchSampler(lengths, 8, seed=7, num_replicas=num_replicas, rank=r))
        for r in range(num_replicas)
    ]
    indices = [{i for b in shard for i in b} for shard in shards]
    assert sum(len(s) for s in indices) == 240 and set.union(*indices) == set(range(240))
    assert len({len(shard) for shard in shards}) == 1


@pytest.mark.parametrize("drop_last", [False, True])
def test_sampler_shards_equal_length(drop_last):
    """31 batches on 4 ranks: each rank gets 8 (3 batches repeated) or 7 (3 dropped)."""
    lengths = list(range(31 * 4))
    shards = [
        list(BucketBatchSampler(lengths, 4, seed=0, drop_last=drop_last, num_replicas=4, rank=r))
        for r in range(4)
    ]
    expected = 7 if drop_last else 8
    for rank, shard in enumerate(shards):
        assert (
            len(shard)
            == expected
            == len(BucketBatchSampler(lengths, 4, drop_last=drop_last, num_replicas=4, rank=rank))
        )
    seen = {i for shard in shards for b in shard for i in b}
    assert len(seen) == (28 * 4 if drop_last else 31 * 4)


def test_sampler_bad_arguments():
    with pytest.raises(ValueError, match="batch_size"):
        BucketBatchSampler([1], batch_size=0)
    with pytest.raises(ValueError, match="rank"):
        BucketBatchSampler([1], batch_size=1, num_replicas=2, rank=2)


# ---------------------------------------------------------------- dataset and loader


def vocabs(pairs):
    return Vocab.build(s for s, _ in pairs), Vocab.build(t for _, t in pairs)


def test_dataset_too_long_and_empty_source():
    pairs = [
        (["a", "b"], ["x"]),
        ([], ["y"]),
        (["a", "b", "c", "d"], ["x"]),
        (["a"], ["x", "y", "z", "w"]),
    ]
    src_vocab, tgt_vocab = vocabs(pairs)
    dropped = Seq2SeqDataset.from_pairs(pairs, src_vocab, tgt_vocab, max_len=3)
    assert len(dropped) == 1 and dropped.skipped_empty == 1 and dropped.skipped_too_long == 2
    cut = Seq2SeqDataset.from_pairs(pairs, src_vocab, tgt_vocab, max_len=3, on_too_long="truncate")
    assert len(cut) == 3 and cut.truncated == 2 and cut.skipped_empty == 1
    assert cut[1][0] == src_vocab.encode(["a", "b", "c"]) and cut[2][1] == tgt_vocab.encode(
        ["x", "y", "z"], add_eos=False
    )
    with pytest.raises(ValueError, match="pair 2 is longer than max_len=3"):
        Seq2SeqDataset.from_pairs(pairs, src_vocab, tgt_vocab, max_len=3, on_too_long="error")
    with pytest.raises(ValueError, match="on_too_long"):
        Seq2SeqDataset.from_pairs(pairs, src_vocab, tgt_vocab, on_too_long="skip")
    assert len(Seq2SeqDataset.from_pairs(pairs, src_vocab, tgt_vocab)) == 3


def test_make_loader_on_the_sample():
    pairs = [
        (word_tokenize(e, lowercase=True), word_tokenize(f, lowercase=True))
        for e, f in read_tsv_pairs(ENG_FRA_SAMPLE)
    ]
    src_vocab, tgt_vocab = vocabs(pairs)
    loader = make_loader(pairs, src_vocab, tgt_vocab, batch_size=32, seed=0)
    loader.batch_sampler.set_epoch(1)
    sources = []
    for batch in loader:
        assert batch.src.shape == batch.src_mask.shape
        assert batch.tgt[:, 0].eq(SOS_INDEX).all()
        assert torch.equal(batch.src_mask.sum(1), batch.src_lengths)
        sources += [src_vocab.decode(row) for row in batch.src]
    assert sorted(map(tuple, sources)) == sorted(tuple(s) for s, _ in pairs)


def test_make_loader_unknown_tokens():
    src_vocab, tgt_vocab = vocabs([(["a"], ["x"])])
    loader = make_loader([(["a", "b"], ["x", "y"])], src_vocab, tgt_vocab, batch_size=1)
    batch = next(iter(loader))
    assert batch.src.tolist() == [[src_vocab.stoi["a"], UNK_INDEX, EOS_INDEX]]
    assert batch.tgt.tolist() == [[SOS_INDEX, tgt_vocab.stoi["x"], UNK_INDEX, EOS_INDEX]]
