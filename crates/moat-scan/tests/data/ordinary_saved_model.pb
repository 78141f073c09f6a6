Ž
"serve‚

dense/MatMulMatMulx

saver/SaveV2SaveV2x

saver/RestoreV2	RestoreV2x
$
saver/MergeMergeV2Checkpointsx"¿