// Registration hooks: each native module adds its exports to the addon object.
#pragma once
#include <napi.h>

namespace airship {

void InitInfo(Napi::Env env, Napi::Object exports);
void InitConstants(Napi::Env env, Napi::Object exports);
void InitCompressor(Napi::Env env, Napi::Object exports);
void InitDecompressor(Napi::Env env, Napi::Object exports);
void InitWriter(Napi::Env env, Napi::Object exports);
void InitScan(Napi::Env env, Napi::Object exports);
void InitFileIo(Napi::Env env, Napi::Object exports);
void InitCpuid(Napi::Env env, Napi::Object exports);
void InitTreeFs(Napi::Env env, Napi::Object exports);
void InitTreeTimes(Napi::Env env, Napi::Object exports);
void InitExt4Fill(Napi::Env env, Napi::Object exports);
void InitQcow2(Napi::Env env, Napi::Object exports);
void InitQcow2Copy(Napi::Env env, Napi::Object exports);

}  // namespace airship
