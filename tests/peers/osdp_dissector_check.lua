-- A minimal OSDP dissector for the tests: registered the way libosdp's Wireshark
-- dissector is (on the wtap encapsulation of LINKTYPE_USER15), it shows that Wireshark
-- hands each record of a doorctl capture to an OSDP dissector as one whole frame.
local proto = Proto("osdpcheck", "OSDP frames, as a dissector on LINKTYPE_USER15 gets them")
local f_address = ProtoField.uint8("osdpcheck.address", "Address", base.DEC, nil, 0x7f)
local f_reply = ProtoField.bool("osdpcheck.reply", "Reply", 8, nil, 0x80)
local f_code = ProtoField.uint8("osdpcheck.code", "Code", base.HEX)
proto.fields = { f_address, f_reply, f_code }
function proto.dissector(buffer, pinfo, tree)
    if buffer(0, 1):uint() ~= 0x53 then return 0 end
    local sub = tree:add(proto, buffer())
    sub:add(f_address, buffer(1, 1))
    sub:add(f_reply, buffer(1, 1))
    local at = 5
    if bit32.band(buffer(4, 1):uint(), 0x08) ~= 0 then at = at + buffer(5, 1):uint() end
    sub:add(f_code, buffer(at, 1))
    pinfo.cols.protocol = "OSDP"
    return buffer:len()
end
DissectorTable.get("wtap_encap"):add(wtap.USER15, proto)
