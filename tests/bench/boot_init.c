/* The "bare" /init of tests/bench/boot: powers the VM off at once, so the
 * benchmark measures what booting the same kernel costs with nothing on top. */
#include <stdio.h>
#include <sys/reboot.h>
#include <unistd.h>

int main(void)
{
    printf("KATA-BENCH-BARE-INIT\n");
    fflush(stdout);
    sync();
    reboot(RB_POWER_OFF);
    for (;;)
        pause();
}
