"""Example plug-ins shipped with zcbench, written against the public API as a user would
write theirs: :mod:`zcbench.examples.resnet_space` (a search space without a tabulated
benchmark, studied with ground truth measured by training: ``make study``)."""
