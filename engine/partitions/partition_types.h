// Names for partition types: GPT type GUIDs and MBR type bytes, spelled as
// fdisk/sfdisk spell them; and GUIDs as text.
#pragma once

#include <cstdint>
#include <string>

namespace qflash {

// The 16 on-disk bytes of a GPT GUID (first three fields little-endian) as
// "C12A7328-F81F-11D2-BA4B-00A0C93EC93B".
std::string guid_string(const uint8_t* bytes);

// Friendly name of a GPT type GUID (as guid_string gives it); "" if unknown.
const char* gpt_type_name(const std::string& guid);

// Friendly name of an MBR partition type byte; "" if unknown.
const char* mbr_type_name(uint8_t type);

// 0x05, 0x0f and 0x85: containers of logical partitions.
inline bool mbr_type_is_extended(uint8_t type) {
  return type == 0x05 || type == 0x0f || type == 0x85;
}

}  // namespace qflash
