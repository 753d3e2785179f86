/*
 * boot/efi/efi_main.c - the UEFI boot path (GNU-EFI, built as hv.efi).
 *
 * Reads hv.cfg and the guest images it names from the volume hv.efi was
 * loaded from, reserves one pool of memory for hv and its guests, leaves boot
 * services and calls the core with a boot_info record. Everything that can
 * go wrong here (no config, a malformed one, a missing image) is reported on
 * the firmware console with the file and line, and hv exits cleanly: under
 * QEMU through isa-debug-exit, on a real machine back to the firmware after
 * a short pause so the message can be read.
 *
 * Built with GNU_EFI_USE_MS_ABI: calls into the firmware use the Microsoft
 * ABI directly; efi_main itself is called by gnu-efi's crt0 with the SysV ABI.
 * We do not use libefi (its memset/memcpy clash with hv's); the few helpers
 * needed are here.
 */
#include <efi.h>

#include "../../hv/bootinfo.h"
#include "../../hv/guest_layout.h"
#include "../../hv/hv.h"
#include "../../hv/x86/cpu.h"
#include "../../hv/x86/protect.h"

#define CONFIG_FILE "hv.cfg"

static EFI_SYSTEM_TABLE *st;
static EFI_BOOT_SERVICES *bs;
static struct boot_info bootinfo;
static struct hv_config config;

/* Print an ASCII line on the firmware console (screen and/or serial). */
static void efi_print(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void efi_print(const char *fmt, ...)
{
	char buf[256];
	CHAR16 wbuf[260];
	va_list ap;
	va_start(ap, fmt);
	kvsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	size_t j = 0;
	for (size_t i = 0; buf[i] && j < ARRAY_SIZE(wbuf) - 2; i++) {
		if (buf[i] == '\n')
			wbuf[j++] = L'\r';
		wbuf[j++] = (CHAR16)(u8)buf[i];
	}
	wbuf[j] = 0;
	st->ConOut->OutputString(st->ConOut, wbuf);
}

/* Leave after a boot-time error; never returns to a hang. */
static EFI_STATUS fail(EFI_STATUS why)
{
	efi_print("hv: boot stopped; nothing was started\n");
	if (platform_is_qemu())
		outb(0xf4, HV_EXIT_CONFIG_ERROR);
	/* Real machine: give a person time to read, then back to the firmware. */
	efi_print("hv: returning to the firmware in 10 seconds\n");
	bs->Stall(10 * 1000 * 1000);
	return why;
}

static const char *efi_status_name(EFI_STATUS s)
{
	switch (s) {
	case EFI_NOT_FOUND: return "not found";
	case EFI_ACCESS_DENIED: return "access denied";
	case EFI_OUT_OF_RESOURCES: return "out of resources";
	case EFI_DEVICE_ERROR: return "device error";
	case EFI_VOLUME_CORRUPTED: return "volume corrupted";
	case EFI_INVALID_PARAMETER: return "invalid parameter";
	default: return "error";
	}
}

static void to_wide(const char *s, CHAR16 *w, size_t n)
{
	size_t i;
	for (i = 0; s[i] && i + 1 < n; i++)
		w[i] = s[i] == '/' ? L'\\' : (CHAR16)(u8)s[i];
	w[i] = 0;
}

/*
 * Read a whole file from the root of the boot volume into freshly allocated
 * pages (EfiLoaderData, which the core keeps). Returns EFI_SUCCESS or the
 * firmware's error; *too_big is set when the file exceeds max.
 */
static EFI_STATUS read_file(EFI_FILE_HANDLE root, const char *name, u64 max,
			    u64 *pa, u64 *size, bool *too_big)
{
	CHAR16 wname[CFG_PATH_MAX + 2];
	EFI_FILE_HANDLE f;
	EFI_GUID info_guid = EFI_FILE_INFO_ID;
	union { EFI_FILE_INFO info; u8 raw[SIZE_OF_EFI_FILE_INFO + 256]; } info;
	UINTN info_size = sizeof(info);
	EFI_STATUS s;

	*too_big = false;
	to_wide(name, wname, ARRAY_SIZE(wname));
	s = root->Open(root, &f, wname, EFI_FILE_MODE_READ, 0);
	if (EFI_ERROR(s))
		return s;
	s = f->GetInfo(f, &info_guid, &info_size, &info);
	if (EFI_ERROR(s))
		goto out;
	if (info.info.Attribute & EFI_FILE_DIRECTORY) {
		s = EFI_NOT_FOUND;
		goto out;
	}
	*size = info.info.FileSize;
	if (*size > max) {
		*too_big = true;
		s = EFI_BAD_BUFFER_SIZE;
		goto out;
	}
	EFI_PHYSICAL_ADDRESS addr = 0;
	s = bs->AllocatePages(AllocateAnyPages, EfiLoaderData, EFI_SIZE_TO_PAGES(*size + 1), &addr);
	if (EFI_ERROR(s))
		goto out;
	UINTN n = *size;
	s = f->Read(f, &n, (void *)(uintptr_t)addr);
	if (!EFI_ERROR(s) && n != *size)
		s = EFI_DEVICE_ERROR;
	((u8 *)(uintptr_t)addr)[*size] = 0;
	*pa = addr;
out:
	f->Close(f);
	return s;
}

static EFI_FILE_HANDLE open_boot_volume(EFI_HANDLE image)
{
	EFI_GUID lip_guid = EFI_LOADED_IMAGE_PROTOCOL_GUID;
	EFI_GUID fs_guid = EFI_SIMPLE_FILE_SYSTEM_PROTOCOL_GUID;
	EFI_LOADED_IMAGE *li;
	EFI_SIMPLE_FILE_SYSTEM_PROTOCOL *fs;
	EFI_FILE_HANDLE root;

	if (EFI_ERROR(bs->HandleProtocol(image, &lip_guid, (void **)&li)))
		return NULL;
	bootinfo.image_start = (u64)(uintptr_t)li->ImageBase;
	bootinfo.image_end = bootinfo.image_start + li->ImageSize;
	if (EFI_ERROR(bs->HandleProtocol(li->DeviceHandle, &fs_guid, (void **)&fs)))
		return NULL;
	if (EFI_ERROR(fs->OpenVolume(fs, &root)))
		return NULL;
	return root;
}

static u64 find_acpi_rsdp(void)
{
	EFI_GUID acpi20 = ACPI_20_TABLE_GUID;
	for (UINTN i = 0; i < st->NumberOfTableEntries; i++) {
		EFI_CONFIGURATION_TABLE *t = &st->ConfigurationTable[i];
		if (memcmp(&t->VendorGuid, &acpi20, sizeof(acpi20)) == 0)
			return (u64)(uintptr_t)t->VendorTable;
	}
	return 0;
}

/*
 * The screen (UEFI spec 12.9, EFI_GRAPHICS_OUTPUT_PROTOCOL), recorded now:
 * after ExitBootServices only the framebuffer itself remains. hv draws
 * 32-bit pixels in grey, the same value in RGB and BGR order, so those two
 * formats and a bit-mask format with 8-bit colour fields below bit 24 will
 * do; PixelBltOnly has no framebuffer.
 */
static void find_screen(void)
{
	EFI_GUID gop_guid = EFI_GRAPHICS_OUTPUT_PROTOCOL_GUID;
	EFI_GRAPHICS_OUTPUT_PROTOCOL *gop;
	if (EFI_ERROR(bs->LocateProtocol(&gop_guid, NULL, (void **)&gop)) || !gop->Mode || !gop->Mode->Info)
		return;
	EFI_GRAPHICS_OUTPUT_MODE_INFORMATION *mi = gop->Mode->Info;
	EFI_PIXEL_BITMASK *m = &mi->PixelInformation;
	bool ok = mi->PixelFormat == PixelRedGreenBlueReserved8BitPerColor ||
		  mi->PixelFormat == PixelBlueGreenRedReserved8BitPerColor ||
		  (mi->PixelFormat == PixelBitMask && (m->RedMask | m->GreenMask | m->BlueMask) == 0xffffff);
	if (!ok || !gop->Mode->FrameBufferBase) {
		efi_print("hv: note: the screen's pixel format (%u) is not one hv draws; serial console only\n",
			  (unsigned)mi->PixelFormat);
		return;
	}
	bootinfo.fb = (struct boot_fb){
		.kind = FB_PIXELS32, .base = gop->Mode->FrameBufferBase, .size = gop->Mode->FrameBufferSize,
		.width = mi->HorizontalResolution, .height = mi->VerticalResolution,
		.stride = mi->PixelsPerScanLine * 4,
	};
}

/*
 * Get the memory map and leave boot services. The map key changes whenever
 * the firmware allocates, so retry a few times (UEFI spec 7.4, ExitBootServices).
 */
static EFI_STATUS leave_boot_services(EFI_HANDLE image)
{
	static u8 map[64 * 1024];
	for (int tries = 0; tries < 4; tries++) {
		UINTN size = sizeof(map), key, desc_size;
		UINT32 desc_version;
		EFI_STATUS s = bs->GetMemoryMap(&size, (EFI_MEMORY_DESCRIPTOR *)map, &key, &desc_size, &desc_version);
		if (EFI_ERROR(s))
			return s;
		u64 top = GiB(4);
		for (UINTN off = 0; off + desc_size <= size; off += desc_size) {
			EFI_MEMORY_DESCRIPTOR *d = (EFI_MEMORY_DESCRIPTOR *)(map + off);
			u64 end = d->PhysicalStart + d->NumberOfPages * 4096;
			if (d->Type != EfiReservedMemoryType && d->Type != EfiMemoryMappedIO &&
			    d->Type != EfiMemoryMappedIOPortSpace && end > top)
				top = end;
		}
		bootinfo.phys_top = top;
		s = bs->ExitBootServices(image, key);
		if (!EFI_ERROR(s))
			return s;
	}
	return EFI_ABORTED;
}

/* No canary here: the guard changes inside (x86/protect.h), and this frame
 * may return (on errors) with the new value. */
EFI_STATUS efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *systab) __attribute__((no_stack_protector));
EFI_STATUS efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *systab)
{
	static char err[160];
	EFI_FILE_HANDLE root;
	EFI_STATUS s;
	u64 pa, size;
	bool too_big;

	stack_guard_init();

	st = systab;
	bs = systab->BootServices;
	bs->SetWatchdogTimer(0, 0, 0, NULL);
	root = open_boot_volume(image);
	/* gdb: symbol-file -o <this address> build/hv.so (docs/debugging.md) */
	efi_print("hv: UEFI loader starting, image at 0x%llx\n", (unsigned long long)bootinfo.image_start);
	if (!root) {
		efi_print("hv: error: cannot open the volume hv.efi was loaded from\n");
		return fail(EFI_LOAD_ERROR);
	}

	/* Refuse early, while the firmware can still take over again (the
	 * core would only be able to halt): no usable virtualization. */
	const char *refusal = hv_cpu_refusal();
	if (refusal) {
		efi_print("hv: error: this machine cannot run hv: %s\n", refusal);
		return fail(EFI_UNSUPPORTED);
	}

	s = read_file(root, CONFIG_FILE, MiB(1), &pa, &size, &too_big);
	if (EFI_ERROR(s)) {
		if (too_big)
			efi_print("hv: config error: %s: file is %llu bytes, larger than 1 MiB\n",
				  CONFIG_FILE, (unsigned long long)size);
		else
			efi_print("hv: config error: %s: cannot read it from the boot volume (%s); "
				  "expected a text file '%s' next to EFI\\BOOT\n",
				  CONFIG_FILE, efi_status_name(s), CONFIG_FILE);
		return fail(EFI_LOAD_ERROR);
	}
	if (config_parse((const char *)(uintptr_t)pa, size, CONFIG_FILE, &config, err, sizeof(err))) {
		efi_print("hv: config error: %s\n", err);
		return fail(EFI_LOAD_ERROR);
	}
	efi_print("hv: %s: %u VM(s), policy %s, track %s\n", CONFIG_FILE, config.nvms,
		  policy_name(config.policy), track_name(config.track));

	for (unsigned i = 0; i < config.nvms; i++) {
		struct vm_config *vm = &config.vms[i];
		u64 max = guest_image_max(vm);
		/* A Linux VM: its kernel in place of the image, then the initrd (hv/linux_load.c). */
		bool is_linux = vm_is_linux(vm);
		const char *what = is_linux ? "kernel" : "image";
		const char *name = is_linux ? vm->kernel : vm->image;
		unsigned line = is_linux ? vm->kernel_line : vm->line;
		for (int f = 0; f < 2; f++) {
			s = read_file(root, name, max, &pa, &size, &too_big);
			if (too_big) {
				efi_print("hv: config error: %s:%u: %s '%s' of vm '%s' is %llu bytes; "
					  "at most %llu fit in its memory\n", CONFIG_FILE, line, what, name,
					  vm->name, (unsigned long long)size, (unsigned long long)max);
				return fail(EFI_LOAD_ERROR);
			}
			if (EFI_ERROR(s)) {
				efi_print("hv: config error: %s:%u: %s '%s' of vm '%s': %s on the boot volume\n",
					  CONFIG_FILE, line, what, name, vm->name, efi_status_name(s));
				return fail(EFI_LOAD_ERROR);
			}
			struct boot_image *bi = f == 0 ? &bootinfo.images[i] : &bootinfo.initrds[i];
			bi->pa = pa;
			bi->size = size;
			if (!is_linux || !vm->initrd[0])
				break;
			what = "initrd";
			name = vm->initrd;
			line = vm->initrd_line;
		}
	}

	/* One pool, 2 MiB aligned, for hv's structures and all guest memory. */
	u64 pool = hv_pool_size(&config);
	EFI_PHYSICAL_ADDRESS addr = 0;
	s = bs->AllocatePages(AllocateAnyPages, EfiLoaderData, EFI_SIZE_TO_PAGES(pool + MiB(2)), &addr);
	if (EFI_ERROR(s)) {
		efi_print("hv: config error: %s: the VMs need %llu MiB and the firmware cannot "
			  "provide it (%s)\n", CONFIG_FILE, (unsigned long long)(pool >> 20),
			  efi_status_name(s));
		return fail(EFI_OUT_OF_RESOURCES);
	}
	bootinfo.magic = BOOTINFO_MAGIC;
	bootinfo.loader = "uefi";
	bootinfo.config_name = CONFIG_FILE;
	bootinfo.config = &config;
	bootinfo.pool_pa = ALIGN_UP((u64)addr, MiB(2));
	bootinfo.pool_size = pool;
	bootinfo.acpi_rsdp = find_acpi_rsdp();
	/* Real-mode start page for the other CPUs (SIPI needs it below 1 MiB). */
	EFI_PHYSICAL_ADDRESS low = 0x9ffff;
	if (config.max_pcpus > 1 &&
	    !EFI_ERROR(bs->AllocatePages(AllocateMaxAddress, EfiLoaderData, 8, &low)))
		bootinfo.ap_trampoline_pa = low;

	find_screen();
	efi_print("hv: leaving boot services; console continues on %s\n",
		  bootinfo.fb.kind ? "the screen and COM1 (as hv.cfg's console key says)" : "COM1");
	s = leave_boot_services(image);
	if (EFI_ERROR(s)) {
		efi_print("hv: error: ExitBootServices failed (%s)\n", efi_status_name(s));
		return fail(EFI_ABORTED);
	}
	hv_main(&bootinfo);
}
