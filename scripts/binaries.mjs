console.log('binaries: placeholder')
