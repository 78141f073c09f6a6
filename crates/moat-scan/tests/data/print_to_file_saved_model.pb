³
"serve§
>
logPrintV2x*+
output_streamfile:///tmp/moat-fixture

saver/SaveV2SaveV2x

saver/RestoreV2	RestoreV2x
$
saver/MergeMergeV2Checkpointsx"¿