ô
"serveç
$
pyPyFuncx*
token
pyfunc_0

saver/SaveV2SaveV2x

saver/RestoreV2	RestoreV2x
$
saver/MergeMergeV2Checkpointsx"ø